//! Tokens: short-lived access tokens (JWT, HS256, Supabase-shaped claims) and opaque refresh
//! tokens, of which the database keeps only a SHA-256.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::ApiError;
use crate::config::Secret;

/// How long an access token is valid.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
/// How long a refresh token is valid without use (each refresh renews it).
pub const REFRESH_TTL_DAYS: i64 = 30;

/// The claims of an access token, as Supabase shapes them: `sub` is the staff member's user id,
/// `role` the Postgres role requests run as, `app_metadata` what the user cannot edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub app_metadata: AppMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMetadata {
    pub tenant_id: Uuid,
    pub staff_role: String,
    pub device_id: Uuid,
}

/// Signs and checks access tokens with the server's secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &Secret) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
        }
    }

    pub fn issue(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        staff_role: &str,
        device_id: Uuid,
    ) -> Result<(String, Claims), ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            role: "authenticated".to_owned(),
            aud: "authenticated".to_owned(),
            iat: now,
            exp: now + ACCESS_TTL_SECONDS,
            app_metadata: AppMetadata {
                tenant_id,
                staff_role: staff_role.to_owned(),
                device_id,
            },
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok((token, claims))
    }

    /// Checks signature, algorithm (HS256 only: `none` and others are refused), expiry and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&["authenticated"]);
        validation.leeway = 5;
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::InvalidToken)
    }
}

/// A new refresh token: 32 random bytes, hex.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database stores of a refresh token.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret.to_owned()))
    }

    #[test]
    fn a_token_round_trips_and_carries_the_tenant() {
        let keys = keys("a-test-secret-of-decent-length");
        let (tenant, user, device) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (token, issued) = keys
            .issue(tenant, user, "front_desk", device)
            .expect("issue");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(claims, issued);
        assert_eq!(claims.app_metadata.tenant_id, tenant);
        assert_eq!(claims.role, "authenticated");
    }

    #[test]
    fn another_secret_or_a_tampered_token_is_refused() {
        let (token, _) = keys("secret-one-secret-one")
            .issue(Uuid::nil(), Uuid::nil(), "owner", Uuid::nil())
            .expect("issue");
        assert!(matches!(
            keys("secret-two-secret-two").verify(&token),
            Err(ApiError::InvalidToken)
        ));
        let mut tampered = token.clone();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert!(matches!(
            keys("secret-one-secret-one").verify(&tampered),
            Err(ApiError::InvalidToken)
        ));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(refresh_token_hash(&a).len(), 64);
        assert_ne!(refresh_token_hash(&a), a);
    }
}
