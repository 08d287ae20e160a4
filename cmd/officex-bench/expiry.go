package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// expiryStats is how late timed-out reservations were refunded.
type expiryStats struct {
	Opened           int
	Timeout          time.Duration
	OpenFor          time.Duration // time to open them all over HTTP
	RelayDrained     time.Duration // from the first reserve until every workflow was started
	Spread           time.Duration // between the first and the last timeout
	P50, P99, Max    time.Duration // closed_at - expires_at
	Expired, Pending int
	Err              string     // why the measurement stopped, if it did
	Profile          *dbProfile // PostgreSQL from the timeout until every one was refunded (-dbprofile)
	// CPU is the topology's CPU time from the first reserve until every one
	// was refunded and every workflow started (nil in process).
	CPU *cpuUsage
}

// measureExpiry opens n reservations that all time out together, about
// timeout after the first is opened (each asks for the whole seconds left
// until then, so their timeouts fall within one second), and waits until
// every one has been refunded, by its ReservationWorkflow or the sweeper.
func (s *stack) measureExpiry(ctx context.Context, n int, timeout time.Duration, profile bool) (expiryStats, error) {
	fx, err := s.fixture(ctx, 32, 4)
	if err != nil {
		return expiryStats{}, err
	}
	st := expiryStats{Opened: n, Timeout: timeout}
	run := uuid.NewString()[:8]
	before, start := s.cpuSample(ctx), time.Now()
	if err := openReservations(ctx, s.baseURL, fx, n, run, start.Add(timeout)); err != nil {
		return st, err
	}
	st.OpenFor = time.Since(start)
	drained := make(chan error, 1)
	go func() { drained <- s.waitRelayDrained(ctx, start, &st) }()
	if err := s.pool.QueryRow(ctx, `SELECT max(expires_at) - min(expires_at) FROM reservations WHERE job_id LIKE $1`,
		"exp-"+run+"-%").Scan(&st.Spread); err != nil {
		return st, err
	}
	if !profile {
		if err := s.waitExpired(ctx, run, timeout, &st); err != nil {
			return st, err
		}
	} else {
		time.Sleep(time.Until(start.Add(timeout)))
		var waitErr error
		p, err := profileDB(ctx, s.pool.Config().ConnString(), func() { waitErr = s.waitExpired(ctx, run, timeout, &st) })
		if err != nil {
			return st, err
		}
		if waitErr != nil {
			return st, waitErr
		}
		st.Profile = &p
	}
	if err := <-drained; err != nil {
		return st, err
	}
	if s.cpu != nil {
		u := s.cpuSample(ctx).since(before, n, time.Since(start))
		st.CPU = &u
	}
	rows, err := s.pool.Query(ctx, `SELECT closed_at - expires_at FROM reservations WHERE job_id LIKE $1 AND status = 'expired'`, "exp-"+run+"-%")
	if err != nil {
		return st, err
	}
	var late []time.Duration
	for rows.Next() {
		var d time.Duration
		if err := rows.Scan(&d); err != nil {
			return st, err
		}
		late = append(late, d)
	}
	if err := rows.Err(); err != nil || len(late) == 0 {
		return st, fmt.Errorf("no expired reservations measured (%v)", err)
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	st.P50, st.P99, st.Max = late[len(late)/2], late[min(len(late)-1, len(late)*99/100)], late[len(late)-1]
	return st, nil
}

// openReservations opens n reservations over HTTP, 16 at a time, each timing
// out at the first whole second after at.
func openReservations(ctx context.Context, baseURL string, fx []installRef, n int, run string, at time.Time) error {
	client := &http.Client{Timeout: 30 * time.Second}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				in := fx[i%len(fx)]
				secs := max(1, int(math.Ceil(time.Until(at).Seconds())))
				body := fmt.Sprintf(`{"amount": 1, "job_id": "exp-%s-%d", "timeout_seconds": %d}`, run, i, secs)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/reserve", bytes.NewBufferString(body))
				req.Header.Set("x-officex-install-id", in.InstallID)
				req.Header.Set("x-officex-install-secret", in.Secret)
				resp, err := client.Do(req)
				if err == nil {
					msg, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("reserve: %d %s", resp.StatusCode, msg)
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// waitExpired polls until none of the run's reservations is open, for at
// most two minutes past the timeout.
func (s *stack) waitExpired(ctx context.Context, run string, timeout time.Duration, st *expiryStats) error {
	deadline := time.Now().Add(timeout + 2*time.Minute)
	for time.Now().Before(deadline) {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'expired'), count(*) FILTER (WHERE status = 'reserved')
			FROM reservations WHERE job_id LIKE $1`, "exp-"+run+"-%").Scan(&st.Expired, &st.Pending); err != nil {
			return err
		}
		if st.Pending == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// waitRelayDrained polls until the relay has started every workflow (no
// start is waiting on a reservation or in the outbox) and records when,
// from start.
func (s *stack) waitRelayDrained(ctx context.Context, start time.Time, st *expiryStats) error {
	for { // the relay has started every workflow once the outbox is empty
		var left int
		if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE kind = 'reservation')
			+ (SELECT count(*) FROM reservations WHERE workflow_due_at IS NOT NULL)`).Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			st.RelayDrained = time.Since(start)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
