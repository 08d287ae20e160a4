package schedules

import (
	"context"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.temporal.io/sdk/client"
)

// cronParser reads exactly the five standard fields (minute hour
// day-of-month month day-of-week, names like MON allowed): no seconds, no
// @descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// cronGapChecks is how many upcoming firings of a cron are checked against
// the minimum interval: enough for any pattern to repeat.
const cronGapChecks = 1000

// parseCron checks a 5-field cron expression in loc.
func parseCron(expr string, loc *time.Location) (cron.Schedule, error) {
	if len(expr) > MaxCronLen || len(strings.Fields(expr)) != 5 || strings.ContainsAny(expr, "@=") {
		return nil, invalidf("cron: 5 fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * MON\"")
	}
	sch, err := cronParser.Parse(expr)
	if err != nil {
		return nil, invalidf("cron: %s", err.Error())
	}
	return sch, nil
}

func loadTimezone(name string) (*time.Location, error) {
	if name == "" || len(name) > MaxTimezoneLen || name == "Local" {
		return nil, invalidf("timezone: an IANA name like Europe/Paris (at most %d characters)", MaxTimezoneLen)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalidf("timezone: %q is not an IANA time zone", name)
	}
	return loc, nil
}

// checkTiming checks that exactly one of cron and interval is set and that
// runs are at least min apart.
func checkTiming(cronExpr *string, interval *int, tz string, min time.Duration) error {
	loc, err := loadTimezone(tz)
	if err != nil {
		return err
	}
	switch {
	case (cronExpr == nil) == (interval == nil):
		return invalidf("give exactly one of cron and interval_seconds")
	case interval != nil:
		d := time.Duration(*interval) * time.Second
		if d < min || d > MaxInterval {
			return invalidf("interval_seconds: %d to %d", int(min/time.Second), int(MaxInterval/time.Second))
		}
		return nil
	}
	sch, err := parseCron(*cronExpr, loc)
	if err != nil {
		return err
	}
	t := sch.Next(time.Now().In(loc))
	for i := 0; i < cronGapChecks && !t.IsZero(); i++ {
		next := sch.Next(t)
		if next.IsZero() {
			break
		}
		if next.Sub(t) < min {
			return invalidf("cron: runs must be at least %d seconds apart (%s and %s are not)", int(min/time.Second),
				t.Format(time.RFC3339), next.Format(time.RFC3339))
		}
		t = next
	}
	return nil
}

// temporalSpec is the Temporal Schedule spec of f (validated).
func temporalSpec(f Fields) client.ScheduleSpec {
	if f.Cron != nil {
		return client.ScheduleSpec{CronExpressions: []string{*f.Cron}, TimeZoneName: f.Timezone}
	}
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Duration(*f.IntervalSeconds) * time.Second}}}
}

// nextRun is when the spec fires next after now, as Temporal computes it:
// intervals count from the Unix epoch; crons in the time zone.
func nextRun(f Fields, now time.Time) *time.Time {
	if f.Paused {
		return nil
	}
	if f.IntervalSeconds != nil {
		every := int64(*f.IntervalSeconds)
		t := time.Unix((now.Unix()/every+1)*every, 0).UTC()
		return &t
	}
	loc, err := loadTimezone(f.Timezone)
	if err != nil || f.Cron == nil {
		return nil
	}
	sch, err := parseCron(*f.Cron, loc)
	if err != nil {
		return nil
	}
	t := sch.Next(now.In(loc)).UTC()
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Service) computeNext(sch *Schedule, now time.Time) {
	sch.NextRunAt, sch.NextRunFrom = nextRun(sch.Fields, now), "computed"
}

// describeNext takes next_run_at from the Temporal Schedule when it is in
// step with the row and Temporal answers within DescribeTimeout; otherwise it
// is computed from the spec.
func (s *Service) describeNext(ctx context.Context, sch *Schedule) {
	s.computeNext(sch, time.Now())
	if !sch.Synced {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, DescribeTimeout)
	defer cancel()
	desc, err := s.temporal.ScheduleClient().GetHandle(ctx, temporalID(sch.ID)).Describe(ctx)
	if err != nil {
		return
	}
	sch.NextRunFrom = "temporal"
	sch.NextRunAt = nil
	if len(desc.Info.NextActionTimes) > 0 && !desc.Schedule.State.Paused {
		t := desc.Info.NextActionTimes[0].UTC()
		sch.NextRunAt = &t
	}
}
