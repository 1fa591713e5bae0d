//! `Server-Timing` on `/receipt/make`: how long reading the body, decoding the upload, the
//! engine and storing took, so a client (and `bench/overhead.sh`) sees what the server adds on
//! top of the engine. Durations only; nothing about the photo.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// When the request's head arrived, put into its extensions by [`stamp`].
#[derive(Debug, Clone, Copy)]
pub struct Arrived(pub Instant);

/// Middleware: stamps every request with [`Arrived`] before its body is read.
pub async fn stamp(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(Arrived(Instant::now()));
    next.run(req).await
}

/// The stages of one request, each measured from the end of the previous one.
#[derive(Debug, Clone)]
pub struct Stages {
    start: Instant,
    last: Instant,
    marks: Vec<(&'static str, Duration)>,
}

impl Stages {
    /// Starts at `arrived` (or now, when the middleware is not in front).
    pub fn new(arrived: Option<Arrived>) -> Self {
        let start = arrived.map_or_else(Instant::now, |a| a.0);
        Self {
            start,
            last: start,
            marks: Vec::new(),
        }
    }

    /// Ends the stage `name` now.
    pub fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.marks.push((name, now - self.last));
        self.last = now;
    }

    /// `read;dur=1.2, engine;dur=80.1, …, total;dur=90.0` (milliseconds).
    pub fn header_value(&self) -> String {
        let mut s = String::new();
        for (name, d) in &self.marks {
            let _ = write!(s, "{name};dur={:.1}, ", ms(*d));
        }
        let _ = write!(s, "total;dur={:.1}", ms(self.last - self.start));
        s
    }

    /// Adds the `Server-Timing` header to `resp`.
    pub fn attach(&self, resp: impl IntoResponse) -> Response {
        let mut resp = resp.into_response();
        if let Ok(v) = HeaderValue::from_str(&self.header_value()) {
            resp.headers_mut()
                .insert(HeaderName::from_static("server-timing"), v);
        }
        resp
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_to_the_total() {
        let mut s = Stages::new(None);
        std::thread::sleep(Duration::from_millis(3));
        s.mark("read");
        std::thread::sleep(Duration::from_millis(5));
        s.mark("engine");
        let v = s.header_value();
        let durs: Vec<f64> = v
            .split(", ")
            .map(|p| p.split("dur=").nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(
            v.starts_with("read;dur=") && v.contains(", engine;dur="),
            "{v}"
        );
        assert_eq!(durs.len(), 3);
        assert!(durs[0] >= 3.0 && durs[1] >= 5.0, "{v}");
        assert!((durs[0] + durs[1] - durs[2]).abs() < 0.2, "{v}");
    }
}
