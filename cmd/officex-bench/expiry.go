package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
	P50, P99, Max    time.Duration // closed_at - expires_at
	Expired, Pending int
	Err              string // why the measurement stopped, if it did
}

// measureExpiry opens n reservations with the given timeout and waits until
// every one has been refunded by its ReservationWorkflow.
func (s *stack) measureExpiry(ctx context.Context, n int, timeout time.Duration) (expiryStats, error) {
	fx, err := s.fixture(ctx, 32, 4)
	if err != nil {
		return expiryStats{}, err
	}
	st := expiryStats{Opened: n, Timeout: timeout}
	run := uuid.NewString()[:8]
	start := time.Now()
	if err := openReservations(ctx, s.baseURL, fx, n, run, timeout); err != nil {
		return st, err
	}
	st.OpenFor = time.Since(start)
	for { // the relay has started every workflow once the outbox is empty
		var left int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE kind = 'reservation'").Scan(&left); err != nil {
			return st, err
		}
		if left == 0 {
			st.RelayDrained = time.Since(start)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.Now().Add(timeout + 2*time.Minute)
	for time.Now().Before(deadline) {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'expired'), count(*) FILTER (WHERE status = 'reserved')
			FROM reservations WHERE job_id LIKE $1`, "exp-"+run+"-%").Scan(&st.Expired, &st.Pending); err != nil {
			return st, err
		}
		if st.Pending == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
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

func openReservations(ctx context.Context, baseURL string, fx []installRef, n int, run string, timeout time.Duration) error {
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
				body := fmt.Sprintf(`{"amount": 1, "job_id": "exp-%s-%d", "timeout_seconds": %d}`, run, i, int(timeout.Seconds()))
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
