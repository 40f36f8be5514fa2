//! DHX faults.

use serde::{Deserialize, Serialize};

/// The business fault codes of the DHX protocol, plus our own for technical trouble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultCode {
    Validation,
    Duplicate,
    InvalidAddressee,
    UnsupportedVersion,
    SizeLimitExceeded,
    /// Not a DHX code: the receiver failed on its side (we answer with a SOAP fault).
    Server,
    /// Not a DHX code: the receiver's memory budget for requests in progress is
    /// spent (a SOAP server fault with HTTP 503; the sender retries later).
    Busy,
}

impl FaultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultCode::Validation => "DHX.Validation",
            FaultCode::Duplicate => "DHX.Duplicate",
            FaultCode::InvalidAddressee => "DHX.InvalidAddressee",
            FaultCode::UnsupportedVersion => "DHX.UnsupportedVersion",
            FaultCode::SizeLimitExceeded => "DHX.SizeLimitExceeded",
            FaultCode::Server | FaultCode::Busy => "SOAP-ENV:Server",
        }
    }

    pub fn parse(s: &str) -> Option<FaultCode> {
        Some(match s.trim() {
            "DHX.Validation" => FaultCode::Validation,
            "DHX.Duplicate" => FaultCode::Duplicate,
            "DHX.InvalidAddressee" => FaultCode::InvalidAddressee,
            "DHX.UnsupportedVersion" => FaultCode::UnsupportedVersion,
            "DHX.SizeLimitExceeded" => FaultCode::SizeLimitExceeded,
            _ => return None,
        })
    }
}

/// A DHX fault: code and a lowercase message naming the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub code: FaultCode,
    pub message: String,
}

impl Fault {
    pub fn new(code: FaultCode, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
        }
    }
    pub fn validation(message: impl Into<String>) -> Fault {
        Fault::new(FaultCode::Validation, message)
    }
    pub fn too_large(message: impl Into<String>) -> Fault {
        Fault::new(FaultCode::SizeLimitExceeded, message)
    }
    /// A failure on the receiver's side (our fault, not the sender's).
    pub fn is_server(&self) -> bool {
        matches!(self.code, FaultCode::Server | FaultCode::Busy)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Fault {}
