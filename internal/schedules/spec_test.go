package schedules

import (
	"errors"
	"testing"
	"time"
)

func TestNextRun_IntervalCountsFromTheEpochLikeTemporal(t *testing.T) {
	every := 3600
	now := time.Date(2030, 5, 1, 10, 20, 0, 0, time.UTC)
	got := nextRun(Fields{IntervalSeconds: &every}, now)
	if got == nil || !got.Equal(time.Date(2030, 5, 1, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("next %v", got)
	}
	if nextRun(Fields{IntervalSeconds: &every, Paused: true}, now) != nil {
		t.Fatal("a paused schedule has a next run")
	}
}

func TestNextRun_CronInItsTimeZone(t *testing.T) {
	cron := "0 9 * * MON"
	now := time.Date(2030, 5, 1, 10, 0, 0, 0, time.UTC) // a Wednesday
	got := nextRun(Fields{Cron: &cron, Timezone: "Asia/Tokyo"}, now)
	if got == nil || !got.Equal(time.Date(2030, 5, 6, 0, 0, 0, 0, time.UTC)) { // Monday 9:00 in Tokyo
		t.Fatalf("next %v", got)
	}
}

func TestCheckTiming_CronRunsAtLeastTheMinimumApart(t *testing.T) {
	for expr, ok := range map[string]bool{
		"*/5 * * * *": true, "0 9 * * MON-FRI": true, "0 0 1 1 *": true,
		"*/4 * * * *": false, "0,59 0,23 * * *": false, "0 9,10 * * * *": false, "@daily": false,
	} {
		err := checkTiming(&expr, nil, "UTC", MinInterval)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%q: %v", expr, err)
		}
	}
}

func TestPatch_SettingOneTimingClearsTheOther(t *testing.T) {
	cron, every := "0 9 * * *", 600
	f := Fields{IntervalSeconds: &every}
	if err := (Patch{Cron: Change[string]{Set: true, Value: &cron}}).apply(&f); err != nil || f.IntervalSeconds != nil || *f.Cron != cron {
		t.Fatalf("cron patch %+v %v", f, err)
	}
	if err := (Patch{IntervalSeconds: Change[int]{Set: true, Value: &every}}).apply(&f); err != nil || f.Cron != nil || *f.IntervalSeconds != every {
		t.Fatalf("interval patch %+v %v", f, err)
	}
	if err := (Patch{Title: Change[string]{Set: true}}).apply(&f); !errors.Is(err, ErrInvalid) {
		t.Fatalf("null title: %v", err)
	}
}
