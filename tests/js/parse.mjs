// Reads an iCalendar object on stdin with ical.js and prints what a client would see.
import ICAL from "ical.js";

let text = "";
for await (const chunk of process.stdin) text += chunk;
const calendar = new ICAL.Component(ICAL.parse(text));
const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    sequence: event.sequence,
    summary: event.summary,
    location: event.location,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    timezone: event.startDate.timezone,
    status: vevent.getFirstPropertyValue("status"),
    organizer: event.organizer,
    attendees: event.attendees.map((a) => ({
      address: a.getFirstValue(),
      cn: a.getParameter("cn"),
      rsvp: a.getParameter("rsvp"),
      partstat: a.getParameter("partstat"),
    })),
    alarms: vevent.getAllSubcomponents("valarm").length,
  };
});
process.stdout.write(JSON.stringify({
  method: calendar.getFirstPropertyValue("method"),
  timezones: calendar.getAllSubcomponents("vtimezone").map((z) => z.getFirstPropertyValue("tzid")),
  events,
}));
