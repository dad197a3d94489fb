//! The long connection: discovery, session, supervisor. (Being built.)
