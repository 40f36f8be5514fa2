//! IMAP accounts (placeholder until the client lands).

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::Result;

use super::ImapAccount;

pub async fn run(_app: App, _acc: ImapAccount, shutdown: CancellationToken) -> Result<()> {
    shutdown.cancelled().await;
    Ok(())
}
