//! The library's error type. It separates the user's mistake (bad input, unknown
//! names, forbidden access) from our fault (database, IO, bugs), so that the CLI
//! can choose an exit code and the web layer an HTTP status from one table.

/// What kind of failure an [`Error`] is; the web layer maps each kind to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input was wrong: a bad date, an unknown series, a missing file.
    Invalid,
    /// The thing named does not exist.
    NotFound,
    /// The request collides with what is already there (a duplicate, a stale edit).
    Conflict,
    /// The caller is not allowed to do or see this.
    Forbidden,
    /// The caller is not logged in or the credentials are wrong.
    Unauthorized,
    /// The input is larger than a configured limit.
    TooLarge,
    /// Stored data does not match its recorded hash: tampering or corruption.
    Integrity,
    /// Something on our side failed: database, disk, a bug.
    Internal,
}

/// A library error. The user's mistakes about one input name it by `field`: the
/// library's own name for it (`received`, `reply_to`, `party_code`), which each
/// edge renders in its own terms: the CLI as its flag (`--received`), the API as
/// the JSON field, a page as the form field the message goes next to. The
/// library never names a command-line flag.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", field_message("invalid", *field, reason))]
    Invalid {
        field: Option<&'static str>,
        reason: String,
    },
    #[error("{}", field_message("unknown", *field, reason))]
    NotFound {
        field: Option<&'static str>,
        reason: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Integrity(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "invalid received: …" for a field error, the bare reason otherwise.
fn field_message(what: &str, field: Option<&str>, reason: &str) -> String {
    match field {
        Some(f) => format!("{what} {f}: {reason}"),
        None => reason.to_string(),
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Unauthorized(_) => ErrorKind::Unauthorized,
            Error::TooLarge(_) => ErrorKind::TooLarge,
            Error::Integrity(_) => ErrorKind::Integrity,
            Error::Database(_) | Error::Migrate(_) | Error::Io { .. } | Error::Internal(_) => {
                ErrorKind::Internal
            }
        }
    }

    /// True when the user can fix it by changing the input.
    pub fn is_user_error(&self) -> bool {
        !matches!(self.kind(), ErrorKind::Internal | ErrorKind::Integrity)
    }

    /// An invalid input not tied to one field; the message says it all.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid {
            field: None,
            reason: msg.into(),
        }
    }
    /// The input `field` is invalid, for `reason` (which may quote the value).
    pub fn invalid_field(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: Some(field),
            reason: reason.into(),
        }
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound {
            field: None,
            reason: msg.into(),
        }
    }
    /// The input `field` names something that does not exist.
    pub fn not_found_field(field: &'static str, reason: impl Into<String>) -> Self {
        Error::NotFound {
            field: Some(field),
            reason: reason.into(),
        }
    }

    /// The input this error is about, in the library's name for it.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid { field, .. } | Error::NotFound { field, .. } => *field,
            _ => None,
        }
    }

    /// What is wrong, without the field: the reason of a field error, else
    /// the whole message.
    pub fn reason(&self) -> String {
        match self {
            Error::Invalid {
                field: Some(_),
                reason,
            }
            | Error::NotFound {
                field: Some(_),
                reason,
            } => reason.clone(),
            other => other.to_string(),
        }
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
