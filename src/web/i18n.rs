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
