import { beforeEach, describe, expect, it, vi } from "vitest";

// The commands' transport, replaced: each test says what the Rust side answers.
const answer = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (command: string, args?: unknown) => answer(command, args),
}));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));

const { api, onSignInRequired } = await import("./api");

describe("a command refused because the desk is locked", () => {
  const told = vi.fn();
  beforeEach(() => {
    answer.mockReset();
    told.mockReset();
    onSignInRequired(told);
  });

  it("tells the shell to show the sign-in, and still rejects for the screen", async () => {
    answer.mockRejectedValue({ kind: "SignInRequired", message: "Sign in to continue." });
    await expect(api.rooms()).rejects.toMatchObject({ kind: "SignInRequired" });
    expect(told).toHaveBeenCalledTimes(1);
  });

  it("leaves other refusals to the screen", async () => {
    answer.mockRejectedValue({ kind: "RoomTaken", room: "101", message: "Room 101 is taken." });
    await expect(
      api.changeReservation({
        id: "a",
        check_in: "2026-12-01",
        check_out: "2026-12-02",
        room_id: "r",
      }),
    ).rejects.toMatchObject({ kind: "RoomTaken" });
    expect(told).not.toHaveBeenCalled();
  });

  it("sends the new commands' arguments as the Rust side names them", async () => {
    answer.mockResolvedValue("ok");
    await api.setIdleLock(30);
    await api.report("2026-11-06", "2026-12-05");
    await api.exportReportCsv("2026-11-06", "2026-12-05");
    await api.exportGuestsCsv();
    await api.staff();
    await api.addStaff({ email: "ana@hotel.test", display_name: "Ana", role: "front_desk" });
    await api.changeStaffRole("u1", "manager");
    await api.disableStaff("u1");
    await api.giveTemporaryPassword("u1");
    await api.signIn("ana@hotel.test", "temp");
    await api.signIn("ana@hotel.test", "temp", "my own password");
    await api.registration("r1");
    await api.captureRegistration("r1", {
      date_of_birth: null,
      nationality: "PT",
      document: null,
    });
    await api.bookingHistory("r1");
    await api.setDocumentRetention(90);
    await api.savePreferences("g1", { bed_type: "king", allergies: ["nuts"], notes: null });
    await api.logCommunication("g1", {
      kind: "call",
      inbound: true,
      subject: null,
      message: "Arrives late",
    });
    const program = {
      name: "Club",
      description: null,
      enabled: true,
      points_per_currency_unit: 1,
      first_stay_bonus_points: 0,
      birthday_bonus_points: 0,
      point_value_cents: 1,
      minimum_redemption_points: 0,
      points_expiry_days: null,
      tiers: [{ name: "Gold", required_points: 0, multiplier: 2, benefits: ["Late check-out"] }],
    };
    await api.createProgram(program);
    await api.updateProgram("p1", program);
    expect(answer.mock.calls).toEqual([
      ["set_idle_lock", { minutes: 30 }],
      ["get_report", { from: "2026-11-06", to: "2026-12-05" }],
      ["export_report_csv", { from: "2026-11-06", to: "2026-12-05" }],
      ["export_guests_csv", {}],
      ["list_staff", {}],
      [
        "add_staff",
        { input: { email: "ana@hotel.test", display_name: "Ana", role: "front_desk" } },
      ],
      ["change_staff_role", { user_id: "u1", role: "manager" }],
      ["disable_staff", { user_id: "u1" }],
      ["give_temporary_password", { user_id: "u1" }],
      ["sign_in", { email: "ana@hotel.test", password: "temp" }],
      ["sign_in", { email: "ana@hotel.test", password: "temp", new_password: "my own password" }],
      ["get_registration", { reservation_id: "r1" }],
      [
        "capture_registration",
        { reservation_id: "r1", input: { date_of_birth: null, nationality: "PT", document: null } },
      ],
      ["booking_history", { id: "r1" }],
      ["set_document_retention", { days: 90 }],
      [
        "save_guest_preferences",
        { guest_id: "g1", changes: { bed_type: "king", allergies: ["nuts"], notes: null } },
      ],
      [
        "log_communication",
        {
          guest_id: "g1",
          entry: { kind: "call", inbound: true, subject: null, message: "Arrives late" },
        },
      ],
      ["create_loyalty_program", { input: program }],
      ["update_loyalty_program", { id: "p1", input: program }],
    ]);
  });
});
