//! The spec catalogue.
