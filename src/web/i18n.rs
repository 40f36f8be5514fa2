//! Estonian first, English second: the language comes from `?lang=`, then the
//! `lang` cookie, then Estonian.
//!
//! [`from_query`] is the one place `?lang=` is read: on any page it stands in
//! for the cookie (and sets it), and it remembers the page being answered so
//! that the language switch ([`Lang::switch_href`]) returns to the same page.

use axum::http::{header, HeaderValue, Method};
use axum::response::Response;

tokio::task_local! {
    /// The page being answered (path and query without `lang`), for the switch.
    static HERE: Here;
}

#[derive(Clone, Debug)]
struct Here {
    path: String,
    /// The query's `name=value` pairs as sent, `lang` left out.
    pairs: Vec<String>,
    get: bool,
}

/// The language a query asks for with `lang=et|en`, if any.
pub fn query_lang(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "lang")
        .find_map(|(_, v)| Lang::parse(v))
}

/// The link that shows `path?pairs` in `to`: the same page, `lang=` replaced.
pub fn page_in(path: &str, pairs: &[String], to: Lang) -> String {
    let mut q: Vec<&str> = pairs
        .iter()
        .map(String::as_str)
        .filter(|kv| !kv.is_empty() && *kv != "lang" && !kv.starts_with("lang="))
        .collect();
    let lang = format!("lang={}", to.code());
    q.push(&lang);
    format!("{path}?{}", q.join("&"))
}

/// Middleware over every route: `?lang=` wins over the cookie (the request's
/// `lang` cookie is replaced, so every handler's `lang_of` sees it) and is kept
/// in the cookie; the page's address is remembered for [`Lang::switch_href`].
pub async fn from_query(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let asked = query_lang(req.uri().query());
    if let Some(l) = asked {
        let others: Vec<String> = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
            .map(str::to_string)
            .collect();
        let mut all = others;
        all.push(format!("lang={}", l.code()));
        req.headers_mut().remove(header::COOKIE);
        if let Ok(v) = HeaderValue::from_str(&all.join("; ")) {
            req.headers_mut().insert(header::COOKIE, v);
        }
    }
    let here = Here {
        path: req.uri().path().to_string(),
        pairs: req
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|kv| !kv.is_empty() && *kv != "lang" && !kv.starts_with("lang="))
            .map(str::to_string)
            .collect(),
        get: req.method() == Method::GET,
    };
    let mut resp = HERE.scope(here, next.run(req)).await;
    if let Some(l) = asked {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            l.code()
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

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
    /// The language switch's link: the page being answered in the other
    /// language (a page answering a form goes through `/lang/` to the front page).
    pub fn switch_href(self) -> String {
        let to = self.other();
        HERE.try_with(|h| h.get.then(|| page_in(&h.path, &h.pairs, to)))
            .ok()
            .flatten()
            .unwrap_or_else(|| format!("/lang/{}", to.code()))
    }
    /// A role by name (`clerk` → "asjaajaja"); an unknown one as it is.
    pub fn role(self, role: &str) -> String {
        self.t_or_raw("role_", role)
    }
    /// A channel by name (`email` → "e-post"); an unknown one as it is.
    pub fn channel(self, channel: &str) -> String {
        self.t_or_raw("channel_", channel)
    }
    /// An outbox item's state (`queued` → "ootel"); an unknown one as it is.
    pub fn send_state(self, state: &str) -> String {
        self.t_or_raw("send_", state)
    }
    /// An audit event's kind (`viewed` → "vaadatud"); an unknown kind is "other event".
    pub fn event(self, kind: &str) -> &'static str {
        self.t_or(&format!("event_{kind}"), "event_other")
    }
    /// A month, short (1 → "jaan" / "Jan").
    pub fn month(self, m: i8) -> &'static str {
        self.t_or(&format!("month_{m}"), "month_1")
    }
    /// A report month "YYYY-MM" as its name and year: "jaan 2026" / "Jan 2026".
    pub fn month_label(self, ym: &str) -> String {
        match ym.split_once('-') {
            Some((y, m)) => match m.parse::<i8>() {
                Ok(m @ 1..=12) => format!("{} {y}", self.month(m)),
                _ => ym.to_string(),
            },
            None => ym.to_string(),
        }
    }
    /// How a deadline stands in working days: `-11` → "11 tööpäeva üle" /
    /// "11 working days overdue"; `3` → "3 tööpäeva jäänud" / "3 working days left".
    pub fn working_days_left(self, days_left: i64) -> String {
        let n = days_left.abs();
        match (self, days_left.signum()) {
            (_, 0) => self.t("due_today").to_string(),
            (Lang::Et, -1) if n == 1 => "1 tööpäev üle".into(),
            (Lang::Et, -1) => format!("{n} tööpäeva üle"),
            (Lang::Et, _) if n == 1 => "1 tööpäev jäänud".into(),
            (Lang::Et, _) => format!("{n} tööpäeva jäänud"),
            (Lang::En, -1) if n == 1 => "1 working day overdue".into(),
            (Lang::En, -1) => format!("{n} working days overdue"),
            (Lang::En, _) if n == 1 => "1 working day left".into(),
            (Lang::En, _) => format!("{n} working days left"),
        }
    }
    /// A moment as people here read it: Europe/Tallinn, "2026-03-05 14:07".
    pub fn time(self, t: jiff::Timestamp) -> String {
        match jiff::tz::TimeZone::get("Europe/Tallinn") {
            Ok(tz) => t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string(),
            Err(_) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
    /// A stored RFC 3339 time (UTC) in Europe/Tallinn; anything else as it is.
    pub fn time_str(self, s: &str) -> String {
        s.parse::<jiff::Timestamp>()
            .map(|t| self.time(t))
            .unwrap_or_else(|_| s.to_string())
    }
    /// `prefix + code`'s text, else the code itself.
    fn t_or_raw(self, prefix: &str, code: &str) -> String {
        match self.t(&format!("{prefix}{code}")) {
            "??" => code.to_string(),
            t => t.to_string(),
        }
    }
    /// `key`'s text, else `fallback`'s (for vocabularies that may grow).
    fn t_or(self, key: &str, fallback: &str) -> &'static str {
        match self.t(key) {
            "??" => self.t(fallback),
            t => t,
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

/// The deadline engine's trace lines (`deadline::engine`, pure, worded in
/// English with Estonian where the law's words are) in the page's language:
/// (pattern, Estonian, English), applied in order; the legal citations stay.
const TRACE: &[(&str, &str, &str)] = &[
    // lines that carry both languages: the one asked for
    (r"^(.*?) / base date: (.*)$", "$1", "base date: $2"),
    (r"^(saabumisaeg teadmata: .*?) / (arrival time unknown: .*)$", "$1", "$2"),
    (r"^(registreeritud [^:]*: saabumisaeg teadmata, ei loeta õigeaegseks) \((registered [^)]*)\)$", "$1", "$2"),
    (r"^registreeritud (\S+) \(tähtaeg (\S+)\): HILINENUD / REGISTERED LATE$", "registreeritud $1 (tähtaeg $2): HILINENUD", "registered $1 (due $2): REGISTERED LATE"),
    (r"^registreeritud (\S+) \(tähtaeg (\S+)\): õigeaegselt / in time$", "registreeritud $1 (tähtaeg $2): õigeaegselt", "registered $1 (due $2): in time"),
    (r"täpsustamise palve / clarification asked on", "täpsustamise palve", "clarification asked on"),
    (r"tähtaeg määratud (\S+): (\S+) \(([^)]*)\) / due date set on \S+: [0-9-]+", "tähtaeg määratud $1: $2 ($3)", "due date set on $1: $2"),
    // the steps
    (r"to be registered by: the (\d+)th working day after (\S+)", "registreerida hiljemalt: $1. tööpäev pärast $2", "to be registered by: working day $1 after $2"),
    (r"term after the deferral", "tähtaeg pärast edasilükkamist", "term after the deferral"),
    (r"extended term", "pikendatud tähtaeg", "extended term"),
    (r"\bterm: ", "tähtaeg: ", "term: "),
    (r"the (\d+)th working day after (\S+)", "$1. tööpäev pärast $2", "working day $1 after $2"),
    (r"(\S+) \+ (\d+) calendar days", "$1 + $2 kalendripäeva", "$1 + $2 calendar days"),
    (r"(\S+) is not a working day \(([^)]*)\): moved to the next working day", "$1 ei ole tööpäev ($2): viidud järgmisele tööpäevale", "$1 is not a working day ($2): moved to the next working day"),
    (r"received or sent on ", "saabunud või saadetud ", "received or sent on "),
    (r"registered on (\S+): in time", "registreeritud $1: õigeaegselt", "registered on $1: in time"),
    (r"registered on (\S+): late by (\d+) working days", "registreeritud $1: hilinenud $2 tööpäeva", "registered on $1: late by $2 working days"),
    (r"registered before the change of law: the older term of (\d+) working days applies", "registreeritud enne seadusemuudatust: kehtib varasem tähtaeg $1 tööpäeva", "registered before the change of law: the older term of $1 working days applies"),
    (r"registered before the change of law: the older term of (\d+) calendar days applies", "registreeritud enne seadusemuudatust: kehtib varasem tähtaeg $1 kalendripäeva", "registered before the change of law: the older term of $1 calendar days applies"),
    (r"registered before the change of law: the older term of (\d+) months applies", "registreeritud enne seadusemuudatust: kehtib varasem tähtaeg $1 kuud", "registered before the change of law: the older term of $1 months applies"),
    (r"extended on (\S+) \(reason: ", "pikendatud $1 (põhjus: ", "extended on $1 (reason: "),
    (r"; the new total term counts from the same base date", "; uus kogutähtaeg loetakse samast alguspäevast", "; the new total term counts from the same base date"),
    (r"clock stopped on (\S+) \(reason: ", "tähtaeg peatatud $1 (põhjus: ", "clock stopped on $1 (reason: "),
    (r": no due date while stopped", ": peatamise ajal tähtpäeva ei ole", ": no due date while stopped"),
    (r"clock resumed on (\S+) \(stopped since (\S+)\)", "tähtaeg jätkub $1 (peatatud alates $2)", "clock resumed on $1 (stopped since $2)"),
    (r"the days stopped \((\S+) to (\S+)\) are added to the term", "peatatud päevad ($1 kuni $2) lisatakse tähtajale", "the days stopped ($1 to $2) are added to the term"),
    (r"reclassified on (\S+) from (\S+) to (\S+)", "ümber liigitatud $1: $2 → $3", "reclassified on $1 from $2 to $3"),
    (r": the base date (\S+) is kept", ": alguspäev $1 jääb samaks", ": the base date $1 is kept"),
    (r": the clock stops until the answer arrives", ": tähtaeg peatub vastuse saabumiseni", ": the clock stops until the answer arrives"),
    (r": does not answer the request, the clock runs on", ": ei vasta taotlusele, tähtaeg kulgeb edasi", ": does not answer the request, the clock runs on"),
    (r"^(\S+: )?reply registered on ", "${1}vastus registreeritud ", "${1}reply registered on "),
    (r"^(\S+: )?forwarding registered on ", "${1}edastamine registreeritud ", "${1}forwarding registered on "),
    (r"^(\S+: )?refusal registered on ", "${1}keeldumine registreeritud ", "${1}refusal registered on "),
    (r"^(\S+: )?processed registered on ", "${1}arve menetletud ", "${1}invoice decided on "),
    (r" ends the clock: ", " lõpetab tähtaja: ", " ends the clock: "),
    (r"on time \(due (\S+)\)", "õigeaegselt (tähtpäev $1)", "$0"),
    (r"late by (\d+) working days \(due (\S+)\)", "hilinenud $1 tööpäeva (tähtpäev $2)", "$0"),
    (r"while the clock was stopped", "tähtaja peatumise ajal", "$0"),
    (r"\(reply registered against the document\)", "(vastus registreeritud dokumendi juurde)", "$0"),
    (r"due (\S+), until 24:00 Europe/Tallinn: a reply registered or sent that day is on time", "tähtpäev $1, kuni kell 24.00 Eesti aja järgi: sel päeval registreeritud või saadetud vastus on õigeaegne", "due $1, until 24:00 Europe/Tallinn: a reply registered or sent that day is on time"),
    (r"ignored: ", "arvestamata: ", "ignored: "),
    // the bases' words around their citations
    (r"a term starts the next day: ", "tähtaja kulg algab järgmisel päeval: ", "a term starts the next day: "),
    (r"working days: PTS §§ 1–2 and § 4\(2\)", "tööpäevad: PTS §§ 1–2 ja § 4(2)", "working days: PTS §§ 1–2 and § 4(2)"),
    (r"\(reading: a new total limit from the base date\)", "(tõlgendus: uus kogutähtaeg alguspäevast)", "(reading: a new total limit from the base date)"),
    (r"\(reading\)", "(tõlgendus)", "(reading)"),
    (r": the term runs from the clarified request", ": tähtaeg kulgeb täpsustatud taotlusest", ": the term runs from the clarified request"),
    (r"; rule ", "; reegel ", "; rule "),
    (r"^taotlus täielik / application complete on (\S+): the term \(re\)starts", "taotlus täielik $1: tähtaeg algab uuesti", "application complete on $1: the term (re)starts"),
    (r", requester told by ([^)]*)\)", ", taotlejale teatatud: $1)", "$0"),
    // the events the engine leaves out, with the reason
    (r"event on (\S+) after the clock ended", "sündmus $1 pärast tähtaja lõppu", "$0"),
    (r"event on (\S+) is before the base date (\S+)", "sündmus $1 on enne alguspäeva $2", "$0"),
    (r"rule (\S+) cannot be extended", "reegli $1 tähtaega ei saa pikendada", "$0"),
    (r"the term was already extended \(the extension sets the total term\)", "tähtaega on juba pikendatud (pikendamine määrab kogutähtaja)", "$0"),
    (r"extension notice on (\S+) came after the original term ended on (\S+): the requester must be told within it", "pikendamise teade $1 tuli pärast esialgse tähtaja lõppu $2: taotlejale tuleb teatada selle jooksul", "$0"),
    (r"extension while the clock is stopped", "pikendamine peatatud tähtaja ajal", "$0"),
    (r"rule (\S+) has no clock stop", "reegli $1 tähtaega ei saa peatada", "$0"),
    (r"the clock is already stopped", "tähtaeg on juba peatatud", "$0"),
    (r"reclassified to unknown rule (.+)$", "ümber liigitatud tundmatu reegli alla $1", "$0"),
    (r"rule (\S+) counts from the (.+), not from the complete application", "reegli $1 tähtaeg loetakse muust kui täielikust taotlusest ($2)", "$0"),
    (r"an answer to a clarification that was not asked", "vastus täpsustamise palvele, mida ei esitatud", "$0"),
    (r"a due date set while the clock is stopped", "tähtpäev määratud peatatud tähtaja ajal", "$0"),
    // the words of the rules' legal bases around their citations (config/deadlines.toml)
    (r"\(clarification or lengthy search; reasons told within the first (\d+) working days\)", "(vajab selgitamist või mahukat otsingut; põhjustest teatatakse esimese $1 tööpäeva jooksul)", "$0"),
    (r" as amended by the (.*?) seadus \((\d+) calendar days, in force ([0-9.]+)\)", " $1 seadusega muudetud kujul ($2 kalendripäeva, jõustunud $3)", "$0"),
    (r" as in force before ([0-9.]+) \((\d+) calendar days\), changed to (\d+) by the (.*?) seadus \(in force ([0-9.]+)\)", " enne $1 kehtinud kujul ($2 kalendripäeva; $4 seadusega muudetud $3 kalendripäevale, jõustunud $5)", "$0"),
    (r"\(rules in force when the procedure started\)", "(kohaldatakse menetluse alustamisel kehtinud reegleid)", "$0"),
    (r"\(extension up to two months, the person told with reasons\)", "(pikendamine kuni kahe kuuni, isikule teatatakse põhjendusega)", "$0"),
    (r"\(decision within (\d+) days after the ground of deferral ends\)", "(otsus $1 päeva jooksul pärast edasilükkamise aluse äralangemist)", "$0"),
    (r"\(reading: OAS sets no own term\)", "(tõlgendus: OAS oma tähtaega ei sätesta)", "$0"),
    (r"\(extension by up to (\d+) days\)", "(pikendamine kuni $1 päeva)", "$0"),
    (r"\(two further months; the person told with reasons within the first month\)", "(veel kaks kuud; isikule teatatakse põhjendusega esimese kuu jooksul)", "$0"),
    (r"\(months\)", "(kuud)", "$0"),
    (r"(§ \d+\(\d+\)) and (\(\d+\))", "$1 ja $2", "$0"),
    (r"(§ \S+) via ", "$1 koostoimes ", "$0"),
];

static TRACE_RES: std::sync::LazyLock<Vec<(regex::Regex, &'static str, &'static str)>> =
    std::sync::LazyLock::new(|| {
        TRACE
            .iter()
            .filter_map(|(p, et, en)| regex::Regex::new(p).ok().map(|r| (r, *et, *en)))
            .collect()
    });

impl Lang {
    /// A deadline trace line in this language (see [`TRACE`]); what no pattern
    /// knows stays as the engine wrote it.
    pub fn trace(self, line: &str) -> String {
        let mut out = line.to_string();
        for (re, et, en) in TRACE_RES.iter() {
            let to = if self == Lang::Et { *et } else { *en };
            out = re.replace_all(&out, to).into_owned();
        }
        out
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
    // errors: `err_<code>` for every code of `web::error::ALL_KINDS`
    ("error_code", "Veakood", "Error code"),
    ("back", "Tagasi", "Back"),
    (
        "err_invalid",
        "Päringus on viga: kontrollige sisestatut ja proovige uuesti.",
        "The request has an error: check what you entered and try again.",
    ),
    ("err_not_found", "Sellist lehte ega dokumenti ei ole.", "There is no such page or document."),
    (
        "err_conflict",
        "Muudatus läks vastuollu kellegi teise muudatusega: laadige leht uuesti.",
        "The change conflicts with someone else's: reload the page.",
    ),
    ("err_forbidden", "Teil ei ole selleks õigust.", "You are not allowed to do this."),
    ("err_unauthorized", "Palun logige sisse.", "Please log in."),
    ("err_too_large", "Saadetu on liiga suur.", "What was sent is too large."),
    (
        "err_integrity",
        "Salvestatud andmed ei läbinud terviklikkuse kontrolli; administraatorit on teavitatud.",
        "Stored data failed its integrity check; the administrator has been told.",
    ),
    ("err_internal", "Süsteemis tekkis viga. Proovige hiljem uuesti.", "Something went wrong on our side. Try again later."),
    ("err_rate_limited", "Liiga palju päringuid: oodake veidi ja proovige uuesti.", "Too many requests: wait a little and try again."),
    ("err_csrf", "Vorm on aegunud: laadige leht uuesti ja proovige uuesti.", "The form has expired: reload the page and try again."),
    ("err_method_not_allowed", "Seda toimingut sellel aadressil ei ole.", "This address does not offer this action."),
    // roles
    ("role_admin", "administraator", "administrator"),
    ("role_clerk", "asjaajaja", "clerk"),
    ("role_lead", "juht", "lead"),
    ("role_staff", "ametnik", "staff"),
    // channels
    ("channel_email", "e-post", "e-mail"),
    ("channel_dhx", "DHX", "DHX"),
    ("channel_post", "post", "post"),
    ("channel_hand", "käsitsi", "by hand"),
    ("channel_einvoice", "e-arve operaator", "e-invoice operator"),
    ("channel_web", "veebivorm", "web form"),
    // send states of the outbox
    ("send_queued", "ootel", "queued"),
    ("send_sending", "saatmisel", "sending"),
    ("send_sent", "saadetud", "sent"),
    ("send_failed", "ebaõnnestus", "failed"),
    // audit events
    ("event_registered", "registreeritud", "registered"),
    ("event_edited", "muudetud", "edited"),
    ("event_restricted", "juurdepääsupiirang seatud", "access restriction set"),
    ("event_restriction_lifted", "juurdepääsupiirang lõpetatud", "access restriction lifted"),
    ("event_restriction_extended", "juurdepääsupiirang pikendatud", "access restriction extended"),
    ("event_restriction_notice", "piirangu teade saadetud", "restriction notice sent"),
    ("event_viewed", "vaadatud", "viewed"),
    ("event_downloaded", "fail alla laaditud", "file downloaded"),
    ("event_released", "väljastatud", "released"),
    ("event_transferred", "üle antud Rahvusarhiivile", "transferred to the National Archives"),
    ("event_transfer_received", "arhiiv võttis vastu", "received by the archives"),
    ("event_text_arrived", "tekst tuvastatud", "text recognised"),
    ("event_outbox_sent", "saadetud", "sent"),
    ("event_outbox_failed", "saatmine ebaõnnestus", "sending failed"),
    ("event_dhx_queued", "DHX saatmisjärjekorras", "queued for DHX"),
    ("event_dhx_delivered", "DHX kaudu kohale toimetatud", "delivered by DHX"),
    ("event_dhx_failed", "DHX saatmine ebaõnnestus", "DHX sending failed"),
    ("event_dhx_received", "DHX kaudu saabunud", "received by DHX"),
    ("event_thread_triage", "kirjavahetus vajab otsustamist", "thread to be decided"),
    ("event_reminder", "meeldetuletus saadetud", "reminder sent"),
    ("event_digest", "kokkuvõte saadetud", "digest sent"),
    ("event_referral_registered", "suunamine registreeritud", "referral registered"),
    ("event_invoice_received", "arve loetud ja kontrollitud", "invoice read and checked"),
    ("event_invoice_linked", "arve seotud suunamisega", "invoice linked to a referral"),
    ("event_invoice_approved", "arve kinnitatud", "invoice approved"),
    ("event_invoice_rejected", "arve tagasi lükatud", "invoice rejected"),
    ("event_payment_term", "maksetähtaeg määratud", "payment term set"),
    ("event_other", "muu sündmus", "other event"),
    // referrals and invoices (src/web/invoices.rs, templates/invoice.html)
    ("invoice", "Arve", "Invoice"),
    ("invoices", "Arved", "Invoices"),
    ("inv_seller", "Müüja", "Seller"),
    ("inv_syntax", "Vorming", "Format"),
    ("inv_issue_date", "Arve kuupäev", "Invoice date"),
    ("inv_payment_due", "Maksetähtaeg", "Payment due"),
    ("inv_total", "Summa", "Amount"),
    ("inv_candidates", "sobivad suunamised", "referrals that fit"),
    ("inv_checks", "Kontrollid", "Checks"),
    ("inv_errors", "Vead", "Errors"),
    ("inv_approve", "Kinnita arve", "Approve the invoice"),
    ("inv_reject", "Lükka tagasi", "Reject"),
    ("approved", "kinnitatud", "approved"),
    ("rejected", "tagasi lükatud", "rejected"),
    ("referral", "Suunamine", "Referral"),
    ("provider", "teenuseosutaja", "provider"),
    ("period", "periood", "period"),
    ("units", "ühikud", "units"),
    ("unit_price", "ühiku hind", "unit price"),
    ("total", "summa", "total"),
    ("arithmetic", "arvutus", "arithmetic"),
    ("duplicate", "korduv number", "duplicate number"),
    ("ref_provider", "Teenuseosutaja", "Provider"),
    ("ref_service", "Teenus", "Service"),
    ("ref_period", "Kehtivus", "Valid"),
    ("ref_units", "Ühikud", "Units"),
    ("ref_remaining", "alles", "remaining"),
    ("ref_limits", "Hinnapiirid", "Price limits"),
    ("ref_unit", "ühik", "unit"),
    ("ref_invoices", "Arved", "Invoices"),
    ("spend", "Kulu teenuseosutajate, teenuste ja kuude kaupa", "Spend per provider, service and month"),
    ("spend_month", "Kuu", "Month"),
    ("spend_invoices", "Arveid", "Invoices"),
    ("spend_referred", "Suunatud", "Referred"),
    ("done_invoice_approved", "arve kinnitatud", "invoice approved"),
    ("done_invoice_rejected", "arve tagasi lükatud, kiri teenuseosutajale on väljuvas postis", "invoice rejected, the letter to the provider is in the outbox"),
    ("err_invoice_refused", "Arvet ei saanud kinnitada ega tagasi lükata (vaadake selle seisu)", "The invoice could not be approved or rejected (see its state)"),
    // months, short
    ("month_1", "jaan", "Jan"),
    ("month_2", "veebr", "Feb"),
    ("month_3", "märts", "Mar"),
    ("month_4", "apr", "Apr"),
    ("month_5", "mai", "May"),
    ("month_6", "juuni", "Jun"),
    ("month_7", "juuli", "Jul"),
    ("month_8", "aug", "Aug"),
    ("month_9", "sept", "Sep"),
    ("month_10", "okt", "Oct"),
    ("month_11", "nov", "Nov"),
    ("month_12", "dets", "Dec"),
    // lists
    ("per_page", "Lehel", "Per page"),
    ("page_of", "Näidatakse", "Showing"),
    ("sort_reg_no", "registreerimisnumber", "registration number"),
    ("sort_registered", "registreerimise kuupäev", "registration date"),
    ("sort_due", "tähtaeg", "deadline"),
    ("sort_party", "saatja / saaja", "sender / recipient"),
    ("direction_sort", "Kasvav või kahanev", "Ascending or descending"),
    ("ascending", "kasvavalt", "ascending"),
    ("descending", "kahanevalt", "descending"),
    ("on_time", "õigeaegselt", "on time"),
    ("late", "hilinenult", "late"),
    ("incoming_pl", "sissetulevad", "incoming"),
    ("outgoing_pl", "väljaminevad", "outgoing"),
    ("replied", "Vastatud", "Replied"),
    ("on_time_share", "Õigeaegsus", "On time"),
    ("month", "Kuu", "Month"),
    ("by_series", "Sarjade kaupa", "Per series"),
    ("by_type", "Dokumendiliikide kaupa", "Per document type"),
    ("by_official", "Ametnike kaupa", "Per official"),
    ("by_month", "Kuude kaupa", "Per month"),
    ("overdue_list", "Tähtaja ületanud ja lähenevad", "Overdue and due soon"),
    ("per_official_title", "Ametnike kaupa", "Per official"),
    ("unassigned", "määramata", "unassigned"),
    ("due_today", "tähtaeg täna", "due today"),
    ("search_label", "Otsi registrist", "Search the register"),
    ("skip_to_content", "Liigu sisu juurde", "Skip to content"),
    ("main_nav", "Peamenüü", "Main menu"),
    ("language", "Keel", "Language"),
    ("pager", "Lehekülgedel liikumine", "Pages"),
    ("no_results", "Midagi ei leitud.", "Nothing found."),
    ("total_label", "Kokku", "Total"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The legal bases of the shipped rules and the lines of an extension with
    /// its notice read Estonian in Estonian: none of their English words is left.
    #[test]
    fn shipped_rules_bases_and_extension_lines_read_estonian() {
        let rules = crate::deadline::DeadlineConfig::default().rules().unwrap();
        let mut lines: Vec<String> = Vec::new();
        for r in rules.all() {
            lines.push(r.basis.clone());
            lines.extend(r.extension_basis.clone());
            lines.extend(r.resume_basis.clone());
            lines.extend(r.transitional.iter().map(|t| t.basis.clone()));
        }
        lines.push("extended on 2026-12-04 (reason: mahukas otsing, requester told by 9-13/7-1); the new total term counts from the same base date".into());
        lines.push(
            "taotlus täielik / application complete on 2026-12-04: the term (re)starts".into(),
        );
        lines.push(
            "reply registered on 2026-12-04 (9-13/7-2) ends the clock: on time (due 2026-12-29)"
                .into(),
        );
        lines.push("reply registered on 2026-12-30 ends the clock: late by 1 working days (due 2026-12-29)".into());
        lines.push("AvTS § 18(1); HMS § 35(4) (reply registered against the document)".into());
        lines.push(
            "reply registered on 2026-12-04 ends the clock: while the clock was stopped".into(),
        );
        lines.push(
            "ignored: the term was already extended (the extension sets the total term)".into(),
        );
        lines.push("ignored: extension notice on 2026-12-20 came after the original term ended on 2026-12-11: the requester must be told within it".into());
        let english = regex::Regex::new(
            r"(?i)\b(and|the|by|via|as|in|force|before|changed|amended|months|days|calendar|working|extension|extended|reasons|told|person|decision|within|ground|reading|sets|own|term|further|first|up|to|clarification|lengthy|search|requester|application|complete|starts|ignored|after|ended|must|time|due|late|while|clock|was|stopped|reply|registered|against|document|ends)\b",
        )
        .unwrap();
        for line in &lines {
            let et = Lang::Et.trace(line);
            assert!(
                !english.is_match(&et),
                "English left in {et:?} (from {line:?})"
            );
            assert_eq!(
                Lang::En.trace(line).contains("(reason: "),
                line.contains("(reason: ")
            );
        }
    }

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
    fn templates_and_web_code_use_only_known_keys() {
        // every literal key of the templates and of the web layer's Rust code
        let root = env!("CARGO_MANIFEST_DIR");
        let re = regex::Regex::new(r#"\bt\("([a-z_0-9]+)"\)"#).unwrap();
        let mut checked = 0;
        for dir in ["templates", "src/web"] {
            for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = e.unwrap().path();
                if path.file_name().is_some_and(|n| n == "i18n.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for c in re.captures_iter(&text) {
                    assert_ne!(
                        Lang::Et.t(&c[1]),
                        "??",
                        "unknown key {} in {}",
                        &c[1],
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn every_vocabulary_the_pages_show_is_in_both_languages() {
        let mut keys: Vec<String> = vec![];
        // error pages: one sentence per stable error code
        keys.extend(
            crate::web::error::ALL_KINDS
                .iter()
                .map(|k| format!("err_{}", crate::web::error::status_and_code(*k).1)),
        );
        for r in [
            crate::web::auth::Role::Admin,
            crate::web::auth::Role::Clerk,
            crate::web::auth::Role::Lead,
            crate::web::auth::Role::Staff,
        ] {
            keys.push(format!("role_{}", r.as_str()));
        }
        use crate::model::Channel;
        for c in [
            Channel::Email,
            Channel::Dhx,
            Channel::Post,
            Channel::Hand,
            Channel::Web,
            Channel::EInvoice,
        ] {
            keys.push(format!("channel_{}", c.as_str()));
        }
        for st in ["queued", "sending", "sent", "failed"] {
            keys.push(format!("send_{st}"));
        }
        for m in 1..=12 {
            keys.push(format!("month_{m}"));
        }
        // keys the templates pick at run time
        for k in [
            "open",
            "due_soon",
            "overdue",
            "answered",
            "stopped",
            "none",
            "relevance",
            "newest",
            "oldest",
            "incoming",
            "outgoing",
            "internal",
        ] {
            keys.push(k.to_string());
        }
        for k in ["reg_no", "registered", "due", "party"] {
            keys.push(format!("sort_{k}"));
        }
        for k in &keys {
            for l in [Lang::Et, Lang::En] {
                let t = l.t(k);
                assert!(t != "??" && !t.is_empty(), "{k} missing in {}", l.code());
            }
        }
        // the events the register, the outbox, DHX and the web write
        for kind in [
            "registered",
            "edited",
            "restricted",
            "restriction_lifted",
            "restriction_extended",
            "restriction_notice",
            "viewed",
            "downloaded",
            "released",
            "transferred",
            "transfer_received",
            "text_arrived",
            "outbox_sent",
            "outbox_failed",
            "dhx_queued",
            "dhx_delivered",
            "dhx_failed",
            "dhx_received",
            "thread_triage",
            "reminder",
            "digest",
            "referral_registered",
            "invoice_received",
            "invoice_linked",
            "invoice_approved",
            "invoice_rejected",
            "payment_term",
        ] {
            assert_ne!(Lang::Et.event(kind), Lang::Et.t("event_other"), "{kind}");
            assert_ne!(Lang::En.event(kind), Lang::En.t("event_other"), "{kind}");
        }
        assert_eq!(Lang::Et.event("viewed"), "vaadatud");
        assert_eq!(Lang::Et.send_state("queued"), "ootel");
        assert_eq!(Lang::En.send_state("queued"), "queued");
        assert_eq!(Lang::Et.channel("email"), "e-post");
        assert_eq!(Lang::Et.role("clerk"), "asjaajaja");
        assert_eq!(Lang::Et.role("somebody"), "somebody");
    }

    #[test]
    fn trace_patterns_compile_and_translate_the_engines_words() {
        assert_eq!(TRACE_RES.len(), TRACE.len(), "every pattern compiles");
        let l = "2026-03-12: term: the 1th working day after 2026-03-11 (AvTS § 18(1); working days: PTS §§ 1–2 and § 4(2))";
        assert_eq!(
            Lang::Et.trace(l),
            "2026-03-12: tähtaeg: 1. tööpäev pärast 2026-03-11 (AvTS § 18(1); tööpäevad: PTS §§ 1–2 ja § 4(2))"
        );
        assert_eq!(
            Lang::En.trace(l),
            "2026-03-12: term: working day 1 after 2026-03-11 (AvTS § 18(1); working days: PTS §§ 1–2 and § 4(2))"
        );
        let both = "alguspäev: registreerimise päev 2026-03-11 / base date: registration day, Europe/Tallinn; rule x (y)";
        assert_eq!(
            Lang::Et.trace(both),
            "alguspäev: registreerimise päev 2026-03-11"
        );
        assert!(Lang::En
            .trace(both)
            .starts_with("base date: registration day"));
        let due = "2026-03-12: due 2026-03-12, until 24:00 Europe/Tallinn: a reply registered or sent that day is on time (TsÜS § 137(1); HMS § 33)";
        let et = Lang::Et.trace(due);
        assert!(
            et.contains("tähtpäev 2026-03-12") && et.contains("TsÜS § 137(1)"),
            "{et}"
        );
        assert!(!et.contains("reply"), "{et}");
    }

    #[test]
    fn month_names_in_both_languages() {
        assert_eq!(Lang::Et.month_label("2026-01"), "jaan 2026");
        assert_eq!(Lang::En.month_label("2026-01"), "Jan 2026");
        assert_eq!(Lang::Et.month_label("2025-12"), "dets 2025");
        assert_eq!(Lang::En.month_label("2025-09"), "Sep 2025");
        assert_eq!(Lang::Et.month_label("2025-13"), "2025-13");
        let et: Vec<_> = (1..=12).map(|m| Lang::Et.month(m)).collect();
        let mut uniq = et.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 12, "{et:?}");
    }

    #[test]
    fn overdue_is_said_in_working_days_not_as_a_negative_number() {
        assert_eq!(Lang::Et.working_days_left(-11), "11 tööpäeva üle");
        assert_eq!(Lang::En.working_days_left(-11), "11 working days overdue");
        assert_eq!(Lang::Et.working_days_left(-1), "1 tööpäev üle");
        assert_eq!(Lang::En.working_days_left(-1), "1 working day overdue");
        assert_eq!(Lang::Et.working_days_left(3), "3 tööpäeva jäänud");
        assert_eq!(Lang::En.working_days_left(1), "1 working day left");
        assert_eq!(Lang::Et.working_days_left(0), "tähtaeg täna");
        for n in -30..30 {
            assert!(!Lang::Et.working_days_left(n).contains('-'), "{n}");
        }
    }

    #[test]
    fn times_are_shown_in_tallinn() {
        // winter: UTC+2; summer: UTC+3
        assert_eq!(
            Lang::Et.time_str("2026-01-15T10:00:00Z"),
            "2026-01-15 12:00"
        );
        assert_eq!(
            Lang::En.time_str("2026-07-15T21:30:00Z"),
            "2026-07-16 00:30"
        );
        assert_eq!(Lang::Et.time_str("not a time"), "not a time");
    }

    #[test]
    fn lang_query_and_the_switch_keep_the_page() {
        assert_eq!(query_lang(Some("q=x&lang=en")), Some(Lang::En));
        assert_eq!(query_lang(Some("lang=xx")), None);
        assert_eq!(query_lang(None), None);
        let pairs = vec!["q=m%C3%A4rgukiri".to_string(), "offset=20".to_string()];
        assert_eq!(
            page_in("/search", &pairs, Lang::En),
            "/search?q=m%C3%A4rgukiri&offset=20&lang=en"
        );
        assert_eq!(page_in("/avalik", &[], Lang::Et), "/avalik?lang=et");
        // outside a request the switch goes through /lang/
        assert_eq!(Lang::Et.switch_href(), "/lang/en");
    }
}
