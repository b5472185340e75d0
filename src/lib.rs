pub mod timefmt;
