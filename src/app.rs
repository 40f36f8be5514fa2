//! The application context every command and the daemon share.

use std::sync::Arc;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::register::Register;
use crate::series::SeriesList;
use crate::store::Store;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub register: Register,
    pub series: Arc<SeriesList>,
    /// The working-day calendar and the deadline rules, loaded once.
    pub engine: Arc<crate::deadline::state::Engine>,
}

impl App {
    /// Creates the data directory, connects to the database and runs the migrations.
    pub async fn open(config: Config) -> Result<App> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            Error::io(
                format!("cannot create data directory {}", config.data_dir.display()),
                e,
            )
        })?;
        let series = Arc::new(SeriesList::load(&config.series_file)?);
        // The vocabularies are checked before the database is touched.
        let vocab = crate::register::Vocab::load(&config, &series)?;
        let engine = Arc::new(crate::deadline::state::Engine::load(&config)?);
        crate::kinds::install(vocab.kinds.clone());
        let store = Store::open(&config).await?;
        let config = Arc::new(config);
        let register = Register::new(store.clone(), config.clone(), series.clone(), vocab);
        Ok(App {
            config,
            store,
            register,
            series,
            engine,
        })
    }
}
