//! The HTTP server: merchant API, console, signed file URLs.

pub mod codes;
