use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = docgate::cli::Cli::parse();
    if !cli.is_daemon() {
        // A one-shot command whose output is piped into `head` ends quietly when
        // the pipe closes, as command-line tools do, instead of panicking in
        // println!. (The daemons keep SIGPIPE ignored: a closed pipe to a child
        // such as pdftotext must not kill them.)
        #[cfg(unix)]
        // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("docgate: cannot start the runtime: {e}");
            std::process::exit(docgate::cli::EXIT_ERROR);
        }
    };
    let code = rt.block_on(docgate::cli::run(cli));
    std::process::exit(code);
}
