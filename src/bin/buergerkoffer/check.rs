//! `buergerkoffer check`: the kit self-check ([`buergerkoffer::check::run`]) as a table or JSON.

use buergerkoffer::check::{self, CheckOptions, Problem};

use crate::exit;
use crate::Ctx;

/// Check the whole kit.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also scan one page at low resolution (75 dpi gray, a 50 mm square).
    #[arg(long)]
    test_scan: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> u8 {
    let spinner = (!ctx.json).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message("checking reader, scanner, printer and USB ...");
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let options = CheckOptions::new().test_scan(args.test_scan);
    let report = check::run(&ctx.kit, &ctx.profile, &options).await;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let code = match report.worst() {
        None => exit::OK,
        Some(Problem::Hung) => exit::HUNG,
        Some(Problem::Missing) => exit::MISSING,
        Some(_) => exit::FAILED,
    };
    tracing::info!(
        passed = report.passed,
        elapsed_ms = report.elapsed_ms,
        exit = code,
        "check done"
    );
    if ctx.json {
        match serde_json::to_value(&report) {
            Ok(mut v) => {
                if let Some(o) = v.as_object_mut() {
                    o.insert("exit".into(), code.into());
                }
                exit::print_json(&v);
            }
            Err(e) => {
                eprintln!("error: cannot write the report as JSON: {e}");
                return exit::FAILED;
            }
        }
    } else {
        print!("{report}");
    }
    code
}
