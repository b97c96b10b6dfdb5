//! One handler per consumer.

pub mod audit;
pub mod read_models;
