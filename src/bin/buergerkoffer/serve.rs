//! `buergerkoffer serve`: the local device service for browser-based office software
//! (HTTP + WebSocket JSON API on 127.0.0.1 and ::1, optionally the scanner as an eSCL
//! scanner), until the process is stopped (Ctrl-C, SIGTERM). Prints where it listens and
//! where its token file is; never the token itself.

use std::io::Write;
use std::path::PathBuf;

use buergerkoffer::service::{Service, ServiceConfig};
use serde_json::json;

use crate::exit;
use crate::Ctx;

/// Serve the kit to office software in the browser.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TCP port on 127.0.0.1 and ::1 (0: any free port).
    #[arg(long, default_value_t = 24800)]
    port: u16,
    /// An origin whose web pages may use the service, e.g. `https://fachverfahren.example`
    /// (repeatable). Requests from any other origin are refused.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Also serve the kit's scanner as an eSCL (AirScan) scanner under /eSCL/ (no token:
    /// eSCL clients send none; loopback and Host checks only, browsers refused).
    #[arg(long)]
    escl: bool,
    /// Where the token file and scanned PDFs live (default: $XDG_STATE_HOME/buergerkoffer or
    /// ~/.local/state/buergerkoffer).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, args: Args) -> u8 {
    let dir = args
        .state_dir
        .unwrap_or_else(ServiceConfig::default_state_dir);
    let mut cfg = ServiceConfig::new(dir).port(args.port).escl(args.escl);
    for o in args.allow_origin {
        cfg = cfg.allow_origin(o);
    }
    let service = match Service::start(ctx.kit.clone(), cfg).await {
        Ok(s) => s,
        Err(e) => return exit::report_error(&e, ctx.json),
    };
    let addrs: Vec<String> = service
        .addrs()
        .iter()
        .map(|a| format!("http://{a}/"))
        .collect();
    let token = service.token_path().display().to_string();
    {
        let mut out = std::io::stdout().lock();
        if ctx.json {
            let _ = writeln!(
                out,
                "{}",
                json!({"listening": addrs, "port": service.port(), "token_file": token})
            );
        } else {
            let _ = writeln!(out, "listening on {}", addrs.join(" and "));
            let _ = writeln!(out, "token file: {token}");
        }
        let _ = out.flush();
    }
    std::future::pending::<()>().await;
    exit::OK
}
