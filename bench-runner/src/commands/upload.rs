//! `bench-runner upload`: a dataset directory to s3://bucket/prefix ([`bench_runner::dataset::upload`]).

use std::path::PathBuf;

use bench_runner::dataset;
use bench_runner::store::DataLocation;

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset directory written by data-gen.
    #[arg(long)]
    data: PathBuf,
    /// Destination prefix, s3://bucket/prefix (S3 or an S3-compatible store; endpoint and
    /// credentials from AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ALLOW_HTTP).
    #[arg(long, value_parser = parse_s3)]
    to: url::Url,
}

fn parse_s3(s: &str) -> Result<url::Url, String> {
    match DataLocation::parse(s)? {
        DataLocation::S3(url) => Ok(url),
        DataLocation::Dir(_) => Err(format!("{s}: not an s3://bucket/prefix URL")),
    }
}

pub async fn exec(args: Args) -> Outcome {
    let started = std::time::Instant::now();
    let done = dataset::upload(&args.data, &args.to).await?;
    if done.files == 0 {
        println!(
            "upload: {} already holds this dataset (same manifest): nothing copied",
            args.to
        );
    } else {
        println!(
            "upload: {} files, {} bytes to {} in {:.1} s{}",
            done.files,
            done.bytes,
            args.to,
            started.elapsed().as_secs_f64(),
            if done.removed.is_empty() {
                String::new()
            } else {
                format!("; removed stale {}", done.removed.join(", "))
            }
        );
    }
    Ok(true)
}
