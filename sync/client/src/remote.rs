//! The sync server over HTTP.

use std::time::Duration;

use pms_sync_protocol::wire::{
    Cursor, HeadResponse, PullResponse, PushRequest, PushResponse, SnapshotPage,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A signed-in session, as the server returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub device_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub staff_role: String,
}

/// A colleague of the laptop's tenant, signed in at the laptop (`POST /v1/auth/colleague`).
#[derive(Debug, Clone, Deserialize)]
pub struct Colleague {
    pub user_id: Uuid,
    pub email: String,
    pub staff_role: String,
}

/// A temporary password an owner gave a colleague, and until when it works.
#[derive(Debug, Clone, serde::Serialize, Deserialize, ts_rs::TS)]
pub struct TemporaryPassword {
    pub temporary_password: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A connection to one sync server.
#[derive(Clone)]
pub struct Remote {
    http: reqwest::Client,
    base_url: String,
    access_token: Option<String>,
}

impl Remote {
    pub fn new(base_url: impl Into<String>) -> Self {
        // A link that stalls must not hang a sync forever: connecting gets 10 s, a whole request
        // 60 s (a long-polling pull waits at most 30 s on the server).
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base_url: base_url.into(),
            access_token: None,
        }
    }

    pub async fn login(
        &mut self,
        email: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session> {
        let body =
            serde_json::json!({"email": email, "password": password, "device_name": device_name});
        let request = self
            .http
            .post(format!("{}/v1/auth/login", self.base_url))
            .json(&body);
        let session: Session = send(request).await?;
        self.access_token = Some(session.access_token.clone());
        Ok(session)
    }

    /// Trades a refresh token for a new session (the old refresh token stops working).
    pub async fn refresh(&mut self, device_id: Uuid, refresh_token: &str) -> Result<Session> {
        let body = serde_json::json!({"device_id": device_id, "refresh_token": refresh_token});
        let request = self
            .http
            .post(format!("{}/v1/auth/refresh", self.base_url))
            .json(&body);
        let session: Session = send(request).await?;
        self.access_token = Some(session.access_token.clone());
        Ok(session)
    }

    /// Checks a colleague's password at this laptop (signed in already): the shift changes, the
    /// laptop's session and device stay.
    /// `new_password` replaces a temporary password an owner gave (the server refuses a
    /// temporary one without it, `password_change_required`).
    pub async fn colleague(
        &self,
        email: &str,
        password: &str,
        new_password: Option<&str>,
    ) -> Result<Colleague> {
        let body =
            serde_json::json!({"email": email, "password": password, "new_password": new_password});
        let request = self
            .http
            .post(format!("{}/v1/auth/colleague", self.base_url))
            .bearer_auth(self.token()?)
            .json(&body);
        send(request).await
    }

    /// An owner gives a colleague a temporary password (shown once; the server keeps its hash).
    pub async fn temporary_password(&self, user_id: Uuid) -> Result<TemporaryPassword> {
        let request = self
            .http
            .post(format!(
                "{}/v1/staff/{user_id}/temporary-password",
                self.base_url
            ))
            .bearer_auth(self.token()?);
        send(request).await
    }

    /// Uses an access token the laptop already holds (from its background sync's session).
    pub fn with_access_token(mut self, access_token: impl Into<String>) -> Self {
        self.access_token = Some(access_token.into());
        self
    }

    /// The current access token, for a request the client does not wrap.
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    fn token(&self) -> Result<&str> {
        self.access_token.as_deref().ok_or(Error::NotSignedIn)
    }

    pub async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        let http = self
            .http
            .post(format!("{}/v1/sync/push", self.base_url))
            .bearer_auth(self.token()?)
            .json(request);
        send(http).await
    }

    /// Where the feed stands now.
    pub async fn head(&self) -> Result<Cursor> {
        Ok(self.head_with_role().await?.cursor)
    }

    /// Where the feed stands now, and the caller's staff role as the server sees it (absent from
    /// older servers): what an initial sync fills the mirror under.
    pub async fn head_with_role(&self) -> Result<HeadResponse> {
        let http = self
            .http
            .get(format!("{}/v1/sync/head", self.base_url))
            .bearer_auth(self.token()?);
        send(http).await
    }

    pub async fn snapshot(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<SnapshotPage> {
        let query = snapshot_query(table, after, limit);
        let http = self
            .http
            .get(format!("{}/v1/sync/snapshot", self.base_url))
            .bearer_auth(self.token()?)
            .query(&query);
        send(http).await
    }

    /// `table`'s snapshot pages the account may read, from after `after` to the table's end,
    /// as one answer the server writes while the laptop reads (`GET /v1/sync/snapshot/stream`).
    /// A server without streams answers `Refused` with status 404.
    pub async fn snapshot_stream(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<SnapshotStream> {
        let query = snapshot_query(table, after, limit);
        let response = self
            .http
            .get(format!("{}/v1/sync/snapshot/stream", self.base_url))
            .bearer_auth(self.token()?)
            .query(&query)
            // a whole table takes as long as it takes; a stream that goes quiet is cut below
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        Ok(SnapshotStream {
            response,
            pending: Vec::new(),
        })
    }

    /// The server's current row `id` of `table` as this account may read it, or `None`: one
    /// snapshot page of one row, starting just before `id` (ids sort as 128-bit numbers).
    pub async fn row(&self, table: &str, id: Uuid) -> Result<Option<serde_json::Value>> {
        let before = id.as_u128().checked_sub(1).map(Uuid::from_u128);
        let page = self.snapshot(table, before, 1).await?;
        Ok(page
            .rows
            .into_iter()
            .find(|row| row["id"].as_str() == Some(id.to_string().as_str())))
    }

    /// The tenant's feature flags as the server evaluates them.
    pub async fn flags(&self) -> Result<pms_sync_protocol::wire::FlagsResponse> {
        let http = self
            .http
            .get(format!("{}/v1/flags", self.base_url))
            .bearer_auth(self.token()?);
        send(http).await
    }

    pub async fn pull(&self, after: Cursor, limit: i64) -> Result<PullResponse> {
        self.pull_waiting(after, limit, 0).await
    }

    /// A pull that, when nothing is new after `after`, waits up to `wait_secs` (the server caps
    /// it at 30) for the next change instead of answering empty: a long poll, so a change made
    /// on another laptop arrives as soon as it commits.
    pub async fn pull_waiting(
        &self,
        after: Cursor,
        limit: i64,
        wait_secs: u64,
    ) -> Result<PullResponse> {
        self.pull_request(after, None, limit, wait_secs).await
    }

    /// [`pull_waiting`](Self::pull_waiting) of the tenant's feed after `after` and of the global
    /// feed (plans, platform flags) after `global_after`; the answer's `global_cursor` is where
    /// the next pull starts in the latter.
    pub async fn pull_feeds(
        &self,
        after: Cursor,
        global_after: Cursor,
        limit: i64,
        wait_secs: u64,
    ) -> Result<PullResponse> {
        self.pull_request(after, Some(global_after), limit, wait_secs)
            .await
    }

    /// `GET /v1/sync/pull`; without a global cursor the server sends no global changes.
    async fn pull_request(
        &self,
        after: Cursor,
        global_after: Option<Cursor>,
        limit: i64,
        wait_secs: u64,
    ) -> Result<PullResponse> {
        let mut query = vec![
            ("after_seq", after.seq),
            ("after_change_no", after.change_no),
            ("limit", limit),
            ("wait", wait_secs as i64),
        ];
        if let Some(global) = global_after {
            query.push(("after_global_seq", global.seq));
            query.push(("after_global_change_no", global.change_no));
        }
        let http = self
            .http
            .get(format!("{}/v1/sync/pull", self.base_url))
            .bearer_auth(self.token()?)
            .query(&query);
        send(http).await
    }
}

async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T> {
    let response = request
        .send()
        .await
        .map_err(|e| Error::Unreachable(e.to_string()))?;
    if response.status().is_success() {
        return response
            .json()
            .await
            .map_err(|e| Error::Data(e.to_string()));
    }
    Err(refusal(response).await)
}

/// The typed error of an answer that is not a success.
async fn refusal(response: reqwest::Response) -> Error {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    Error::Refused {
        status: status.as_u16(),
        code: body["error"]["code"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned(),
        message: body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The longest a snapshot stream may go without a byte before the laptop gives up on it.
const STREAM_QUIET: Duration = Duration::from_secs(60);

/// A table's snapshot pages as the server sends them ([`Remote::snapshot_stream`]): one JSON
/// page a line.
pub struct SnapshotStream {
    response: reqwest::Response,
    /// Bytes received after the last whole line.
    pending: Vec<u8>,
}

impl SnapshotStream {
    /// The next page, or `None` when the answer has ended after a whole line (the caller checks
    /// that the table's last page came: an answer cut short also ends).
    pub async fn next_page(&mut self) -> Result<Option<SnapshotPage>> {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let page = serde_json::from_slice(&self.pending[..end])
                    .map_err(|e| Error::Data(format!("a snapshot stream's page: {e}")));
                self.pending.drain(..=end);
                return page.map(Some);
            }
            let chunk = tokio::time::timeout(STREAM_QUIET, self.response.chunk())
                .await
                .map_err(|_| Error::Unreachable("the snapshot stream went quiet".to_owned()))?
                .map_err(|e| Error::Unreachable(e.to_string()))?;
            match chunk {
                Some(bytes) => self.pending.extend_from_slice(&bytes),
                None if self.pending.is_empty() => return Ok(None),
                None => {
                    return Err(Error::Unreachable(
                        "the snapshot stream was cut in a page".to_owned(),
                    ))
                }
            }
        }
    }
}

/// The query of a snapshot page or stream: `table`'s rows after `after`, `limit` a page.
fn snapshot_query(table: &str, after: Option<Uuid>, limit: i64) -> Vec<(&'static str, String)> {
    let mut query = vec![("table", table.to_owned()), ("limit", limit.to_string())];
    if let Some(after) = after {
        query.push(("after_id", after.to_string()));
    }
    query
}
