//! Domain types, the order state machine, billing, storage and callbacks.
