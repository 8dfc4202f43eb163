//! The desk's commands over IPC on Tauri's mock runtime (no display), on a temporary data folder.
#![allow(dead_code)]

use chrono::{Duration, NaiveDate};
use pms_desk::state::Desk;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};

/// An app on a fresh data folder, with its window.
pub struct TestDesk {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    pub dir: std::path::PathBuf,
}

impl TestDesk {
    /// The commands on a fresh data folder, without the background sync.
    pub fn new() -> Self {
        Self::build(false)
    }

    /// As the app runs: the folder locked, and the background sync started.
    pub fn with_sync() -> Self {
        Self::build(true)
    }

    /// As [`TestDesk::new`], with the app's log plugin writing to the app log folder of
    /// `identifier` (the process's one `log` logger: once per test binary).
    pub fn with_log(identifier: &str) -> Self {
        Self::build_with(false, identifier, true)
    }

    fn build(background_sync: bool) -> Self {
        Self::build_with(background_sync, "com.frontdesk.pms.test", false)
    }

    fn build_with(background_sync: bool, identifier: &str, log: bool) -> Self {
        let dir = std::env::temp_dir().join(format!("pms-desk-test-{}", uuid::Uuid::now_v7()));
        let mut context = mock_context(noop_assets());
        context.config_mut().identifier = identifier.to_owned();
        // the updater as the app is built: its key and default address from tauri.conf.json
        let conf: Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).expect("tauri.conf.json");
        context
            .config_mut()
            .plugins
            .0
            .insert("updater".to_owned(), conf["plugins"]["updater"].clone());
        let mut builder = mock_builder();
        if log {
            builder = builder.plugin(pms_desk::logging::plugin());
        }
        let mut builder = builder
            .plugin(tauri_plugin_updater::Builder::new().build())
            .invoke_handler(pms_desk::commands::handler());
        if !background_sync {
            builder = builder.manage(Desk::open(&dir).expect("the data folder opens"));
        }
        let app = builder.build(context).expect("the app builds");
        if background_sync {
            pms_desk::prepare_at(app.handle(), &dir).expect("the data folder opens");
        }
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("a window");
        Self {
            _app: app,
            window,
            dir,
        }
    }

    /// Calls a command as the UI does; `Err` carries the error's JSON.
    pub fn call(&self, command: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: command.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("a JSON answer"))
    }

    pub fn ok(&self, command: &str, args: Value) -> Value {
        self.call(command, args)
            .unwrap_or_else(|error| panic!("{command} failed: {error}"))
    }

    pub fn err(&self, command: &str, args: Value) -> Value {
        match self.call(command, args) {
            Ok(value) => panic!("{command} should have failed, got {value}"),
            Err(error) => error,
        }
    }

    /// The app, for what runs beside the commands (the background tasks' steps).
    pub fn handle(&self) -> &tauri::AppHandle<MockRuntime> {
        self._app.handle()
    }

    pub fn desk(&self) -> &Desk {
        self.window.state::<Desk>().inner()
    }

    pub fn waiting(&self) -> i64 {
        self.ok("get_sync_status", json!({}))["changes_waiting"]
            .as_i64()
            .expect("a count")
    }

    /// A small hotel: rooms 101–103 (Standard, 100.00) and 201–202 (Deluxe, 150.00).
    pub fn set_up(&self) -> Value {
        self.ok(
            "setup_local_hotel",
            json!({"input": {
                "property_name": "Pension Azul", "currency": "EUR", "timezone": "Europe/Lisbon",
                "room_types": [
                    {"code": "std", "name": "Standard", "base_rate_cents": 10000, "max_occupancy": 2, "rooms": ["101", "102", "103"]},
                    {"code": "DLX", "name": "Deluxe", "base_rate_cents": 15000, "max_occupancy": 3, "rooms": ["201", "202"]}
                ]
            }}),
        )
    }

    pub fn room(&self, number: &str) -> String {
        let rooms = self.ok("list_rooms", json!({}));
        rooms
            .as_array()
            .expect("rooms")
            .iter()
            .find(|r| r["number"] == number)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("room {number}"))
            .to_owned()
    }

    pub fn book(
        &self,
        name: &str,
        room: &str,
        check_in: NaiveDate,
        nights: i64,
    ) -> Result<Value, Value> {
        self.call(
            "create_reservation",
            json!({"input": {
                "guest_name": name, "room_id": self.room(room),
                "check_in": check_in.to_string(), "check_out": (check_in + Duration::days(nights)).to_string(),
                "adults": 2
            }}),
        )
    }
}

impl Drop for TestDesk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
