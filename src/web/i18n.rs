//! Estonian first, English second: the language comes from `?lang=`, then the
//! `lang` cookie, then Estonian.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Et,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Et => "et",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "et" => Some(Lang::Et),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Et => Lang::En,
            Lang::En => Lang::Et,
        }
    }
    /// The text for `key`; an unknown key shows itself (and fails the table test).
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, et, en)) => match self {
                Lang::Et => et,
                Lang::En => en,
            },
            None => "??",
        }
    }
}

/// (key, Estonian, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("app", "Dokumendiregister", "Document register"),
    ("inbox", "Sisendkast", "Inbox"),
    ("register", "Register", "Register"),
    ("search", "Otsing", "Search"),
    ("dashboard", "Tähtajad", "Deadlines"),
    ("reports", "Aruanded", "Reports"),
    ("public", "Avalik register", "Public register"),
    ("users", "Kasutajad", "Users"),
    ("login", "Logi sisse", "Log in"),
    ("logout", "Logi välja", "Log out"),
    ("user_name", "Kasutajanimi", "User name"),
    ("password", "Parool", "Password"),
    (
        "login_failed",
        "Vale kasutajanimi või parool",
        "Wrong user name or password",
    ),
    ("reg_no", "Reg. nr", "Reg. no"),
    ("registered", "Registreeritud", "Registered"),
    ("received", "Saabunud / saadetud", "Received / sent"),
    ("direction", "Suund", "Direction"),
    ("incoming", "sissetulev", "incoming"),
    ("outgoing", "väljaminev", "outgoing"),
    ("internal", "sisemine", "internal"),
    ("channel", "Kanal", "Channel"),
    ("title", "Pealkiri", "Title"),
    ("series", "Sari", "Series"),
    ("doc_type", "Liik", "Type"),
    ("parties", "Saatja / saaja", "Sender / recipient"),
    ("their_ref", "Teie nr", "Their ref."),
    ("responsible", "Vastutaja", "Responsible"),
    ("unit", "Üksus", "Unit"),
    ("restriction", "Juurdepääsupiirang", "Access restriction"),
    ("ground", "Alus", "Ground"),
    ("ends", "Kehtib kuni", "Valid until"),
    ("holder", "Teabevaldaja", "Holder"),
    ("public_access", "Avalik", "Public"),
    ("restricted", "AK", "Restricted"),
    ("files", "Failid", "Files"),
    ("text", "Tekst", "Text"),
    ("thread", "Kirjavahetus", "Thread"),
    ("deadline", "Tähtaeg", "Deadline"),
    ("outbox", "Väljasaatmine", "Outbox"),
    ("history", "Ajalugu", "History"),
    ("reply", "Vasta", "Reply"),
    ("send", "Registreeri ja saada", "Register and send"),
    ("save", "Salvesta", "Save"),
    ("filter", "Filtreeri", "Filter"),
    ("found", "Leitud", "Found"),
    ("matched_some", "osa sõnu", "some words"),
    ("sort", "Järjestus", "Order"),
    ("relevance", "asjakohasus", "relevance"),
    ("newest", "uuemad ees", "newest first"),
    ("oldest", "vanemad ees", "oldest first"),
    ("documents", "dokumenti", "documents"),
    ("next", "Järgmised", "Next"),
    ("prev", "Eelmised", "Previous"),
    ("none", "Puudub", "None"),
    ("hidden", "Piiratud juurdepääsuga", "Restricted"),
    (
        "proposed",
        "Pakutud piirang (leiti isikukood)",
        "Proposed restriction (personal code found)",
    ),
    ("no_restriction", "Piiranguta", "No restriction"),
    ("needs_review", "Vajab täiendamist", "Needs completion"),
    ("inbox_empty", "Sisendkast on tühi.", "The inbox is empty."),
    ("overdue", "Tähtaeg ületatud", "Overdue"),
    ("due_soon", "Tähtaeg lähenemas", "Due soon"),
    ("open", "Tähtaeg käib", "Open"),
    ("working_days", "tp", "working days"),
    ("answered", "Vastatud", "Answered"),
    ("stopped", "Tähtaeg peatatud", "Clock stopped"),
    (
        "on_time_rate",
        "Õigeaegselt vastatud kuude kaupa",
        "Replies on time per month",
    ),
    (
        "per_month",
        "Registreeritud kuude kaupa",
        "Registered per month",
    ),
    ("download_csv", "Laadi alla CSV", "Download CSV"),
    ("query", "Otsingusõna", "Search terms"),
    ("body", "Sisu", "Body"),
    ("extend", "Pikenda", "Extend"),
    ("decision", "Otsuse viide", "Decision reference"),
    ("kind", "Liik", "Kind"),
    (
        "expiring",
        "Lõppevad juurdepääsupiirangud",
        "Restrictions about to expire",
    ),
    ("days_left", "Päevi jäänud", "Days left"),
    ("lift", "Lõpeta piirang", "Lift restriction"),
    ("reason", "Põhjus", "Reason"),
    ("from", "Alates", "From"),
    ("to", "Kuni", "To"),
    ("all", "Kõik", "All"),
    ("official", "Ametnik", "Official"),
    ("count", "Arv", "Count"),
    ("not_available", "Pole veel saadaval", "Not available yet"),
    ("eraisik", "eraisik", "private person"),
    ("error", "Viga", "Error"),
    ("role", "Roll", "Role"),
    ("recipient", "Saaja", "Recipient"),
    ("reply_kind", "Vastuse liik", "Reply kind"),
    ("choose", "— vali —", "— choose —"),
    (
        "reply_kind_hint",
        "Tähtaja lõpetab ainult lõppvastus, edastamine või keeldumine; täpsustamise palve peatab tähtaja, vahevastus ei muuda midagi.",
        "Only a final reply, a forwarding or a refusal ends the deadline; a request for clarification stops it, an interim reply changes nothing.",
    ),
    ("email", "E-post", "E-mail"),
    ("attachments", "Lisad", "Attachments"),
    ("status", "Olek", "Status"),
    ("when", "Millal", "When"),
    ("who", "Kes", "Who"),
    ("what", "Mis", "What"),
    (
        "content_hidden",
        "Sisu ei avalikustata (juurdepääsupiirang).",
        "Content not disclosed (access restriction).",
    ),
    ("lang_name", "English", "Eesti keeles"),
    ("complete", "Kinnita", "Complete"),
    (
        "new_document",
        "Registreeri dokument",
        "Register a document",
    ),
    ("file", "Fail", "File"),
    ("sender", "Saatja", "Sender"),
    ("awaiting", "Ootab liigitamist", "Awaiting classification"),
    ("withheld", "peidetud", "withheld"),
    // The clerk's desk forms (issue #14: forms, numbering, deadline controls).
    ("edit_document", "Muuda andmeid", "Edit the record"),
    ("complete_intake", "Täienda ja kinnita", "Complete and confirm"),
    ("form_has_errors", "Vormis on vigu; parandage märgitud väljad.", "The form has errors; correct the marked fields."),
    ("register_refused", "Register ei võtnud andmeid vastu", "The register refused the data"),
    ("choose_files", "Failid (võib valida mitu)", "Files (several may be chosen)"),
    ("files_again", "Failid tuleb uuesti valida: brauser ei saada neid vormi uuesti näitamisel tagasi.", "Choose the files again: the browser does not send them back when the form is shown again."),
    ("duplicate_of", "Sama fail on juba registreeritud", "The same file is already registered"),
    ("register_anyway", "Registreeri siiski uue dokumendina", "Register it anyway as a new document"),
    ("document_data", "Dokument", "Document"),
    ("received_date", "Saabumise / saatmise kuupäev", "Date received / sent"),
    ("party_name", "Saatja või saaja nimi", "Sender or recipient name"),
    ("party_code", "Registrikood või isikukood", "Registry code or personal code"),
    ("party_email", "E-posti aadress", "E-mail address"),
    ("their_date", "Teie kuupäev", "Their date"),
    ("classification", "Liigitus", "Classification"),
    ("deadline_rule", "Tähtaja reegel", "Deadline rule"),
    ("restriction_ak", "Juurdepääsupiirang (AK)", "Access restriction (AK)"),
    ("set_restriction_ak", "Kehtesta juurdepääsupiirang (AK)", "Set the access restriction (AK)"),
    ("restriction_default_hint", "Märkimata jätmisel otsustab register: sarja vaikealus või isikuandmete korral ohvriandmete alus (AvTS § 35, tähtaeg § 40 järgi).", "Left unticked, the register decides: the series' default ground, or the victim-data ground for personal data (AvTS § 35, term by § 40)."),
    ("restriction_set_hint", "Piirang on kehtestatud; muutmine, pikendamine ja lõpetamine on dokumendi lehel.", "A restriction is set; change, extend or lift it on the document page."),
    ("confirm_intake", "Kinnita liigitus (eemaldab sisendkastist)", "Confirm the classification (leaves the inbox)"),
    ("register_action", "Registreeri", "Register"),
    ("former_reg_no", "Varasem number", "Former number"),
    ("deadline_actions", "Tähtaja toimingud", "Deadline actions"),
    ("extension_notice", "Teade taotlejale", "Notice to the requester"),
    ("extension_notice_hint", "Pikendamiseks registreerige esmalt teade taotlejale (vastuse liik: vahevastus).", "To extend, first register the notice to the requester (reply kind: interim)."),
    ("on_date", "Kuupäev", "Date"),
    ("deadline_extend", "Pikenda tähtaega", "Extend the deadline"),
    ("deadline_stop", "Peata tähtaeg", "Stop the clock"),
    ("deadline_resume", "Jätka tähtaega", "Resume the clock"),
    ("application_complete", "Taotlus täielik", "Application complete"),
    ("err_required", "Kohustuslik väli", "Required field"),
    ("err_too_long", "Liiga pikk", "Too long"),
    ("err_choose", "Valige loetelust", "Choose from the list"),
    ("err_party_required", "Sissetuleval ja väljamineval dokumendil peab olema saatja või saaja (AvTS § 12 lg 3)", "An incoming or outgoing document needs a sender or recipient (AvTS § 12(3))"),
    ("err_email", "Vigane e-posti aadress", "Invalid e-mail address"),
    ("err_party_code", "Ei ole 8-kohaline registrikood ega kehtiv isikukood", "Neither an 8-digit registry code nor a valid personal code"),
    ("err_future", "Kuupäev ei saa olla tulevikus", "The date cannot be in the future"),
    ("err_date", "Vigane kuupäev (AAAA-KK-PP)", "Invalid date (YYYY-MM-DD)"),
    ("err_past", "Lõppkuupäev peab olema tulevikus", "The end date must be in the future"),
    ("err_ground", "Valige piirangu alus loetelust", "Choose a ground from the list"),
    ("err_file_size", "Fail on lubatust suurem", "The file is larger than allowed"),
    ("err_files", "Valige vähemalt üks fail", "Choose at least one file"),
    ("err_duplicate", "Sama fail on juba registreeritud (vt allpool)", "The same file is already registered (see below)"),
    ("err_reason_required", "Tähtaja pikendamiseks või peatamiseks on vaja põhjust", "Extending or stopping a deadline needs a reason"),
    ("err_notice_required", "Pikendamiseks valige teade, millega taotlejale teatati", "To extend, choose the notice that told the requester"),
    ("err_deadline_refused", "Tähtaja toimingut ei saanud salvestada: tähtaeg on juba pikendatud või peatatud, toiming on varasem kui alguspäev või teade ei ole väljaminev dokument.", "The deadline action could not be recorded: the deadline is already extended or stopped, the date is before the base date, or the notice is not an outgoing document."),
    ("done_registered", "Registreeritud", "Registered"),
    ("done_edited", "Andmed salvestatud:", "Saved:"),
    ("done_confirmed", "Kinnitatud", "Confirmed"),
    ("done_deadline_extend", "tähtaeg pikendatud", "deadline extended"),
    ("done_deadline_stop", "tähtaeg peatatud", "clock stopped"),
    ("done_deadline_resume", "tähtaeg jätkub", "clock resumed"),
    ("done_deadline_complete", "taotlus märgitud täielikuks", "application marked complete"),
    // Signed containers (document page).
    ("signatures", "Digiallkirjad", "Digital signatures"),
    ("sig_file", "Fail", "File"),
    ("sig_format", "Vorming", "Format"),
    ("sig_signer", "Allkirjastaja", "Signer"),
    ("sig_signed_at", "Allkirjastamise aeg", "Signing time"),
    ("sig_status", "Kehtivus", "Status"),
    ("sig_valid", "kehtiv", "valid"),
    ("sig_indeterminate", "otsustamatu", "indeterminate"),
    ("sig_invalid", "kehtetu", "invalid"),
    ("sig_data_files", "Andmefailid konteinerist", "Data files of the container"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_unique_and_both_languages_present() {
        let mut keys: Vec<_> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate key");
        for (k, et, en) in TEXTS {
            assert!(!et.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(Lang::Et.t("inbox"), "Sisendkast");
        assert_eq!(Lang::En.t("inbox"), "Inbox");
        assert_eq!(Lang::En.t("no-such"), "??");
    }

    #[test]
    fn templates_use_only_known_keys() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let re = regex::Regex::new(r#"t\("([a-z_]+)"\)"#).unwrap();
        let mut checked = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for c in re.captures_iter(&text) {
                assert_ne!(Lang::Et.t(&c[1]), "??", "unknown key {}", &c[1]);
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }
}
