//! A member of an organization as the Management API lists it. Shared by the client (which
//! reads members), the planner and the renderers, so that none of them imports another for it.

use serde::{Deserialize, Serialize};

/// A member of an organization, as listed by the API (email and name where known).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The member's organization roles, when they were read (`fields=roles`, scope
    /// `read:organization_member_roles`): Auth0 does not keep them after a removal, so a plan
    /// and an audit line record them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
}

/// An organization role of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
}

impl Member {
    /// A member known only by user_id.
    pub fn id(user_id: impl Into<String>) -> Member {
        Member {
            user_id: user_id.into(),
            email: None,
            name: None,
            roles: None,
        }
    }
}
