use clap::Parser;
use trustplane::{run, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trustplane: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
