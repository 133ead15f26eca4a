use crate::error::{Error, Result};

/// An agent's identity (seed 000 `agent_id`): `^[a-z0-9][a-z0-9._-]{0,62}$`. It becomes the
/// certificate's CN, so it is checked before it touches a store key or a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgentId(String);

impl AgentId {
    /// Parses an agent id.
    pub fn parse(raw: &str) -> Result<Self> {
        let mut chars = raw.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && raw.len() <= 63 {
            Ok(AgentId(raw.to_owned()))
        } else {
            Err(Error::validation("agent_id must match ^[a-z0-9][a-z0-9._-]{0,62}$"))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::AgentId;

    #[test]
    fn agent_ids_follow_the_documented_pattern() {
        for ok in ["agent-5", "a", "web01.example.com", "0_x"] {
            assert!(AgentId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "Agent", "a b", "a/b", &"a".repeat(64)] {
            assert!(AgentId::parse(bad).is_err(), "{bad}");
        }
    }
}
