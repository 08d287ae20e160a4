// Command officex-loginload measures what concurrent password logins for
// unknown emails cost a running `officex serve`: it sends them all at once,
// reports the answers and their latency, and reads the server's peak resident
// memory (VmHWM) from /proc. It refuses to let the server grow past -kill-above
// (it kills the server), so a run can't take the machine down with it.
//
//	officex-loginload -url http://127.0.0.1:18080 -pid $(pgrep -n officex) -n 200
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// samplePeriod is how often the server's resident memory is checked.
const samplePeriod = 20 * time.Millisecond

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the API's base URL (without /v1)")
	pid := flag.Int("pid", 0, "the server's process id (for VmHWM)")
	n := flag.Int("n", 200, "concurrent logins")
	timeout := flag.Duration("timeout", 5*time.Minute, "per-request timeout")
	killAbove := flag.Int64("kill-above", 8<<30, "kill the server when its RSS passes this many bytes")
	flag.Parse()
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "-pid is required")
		os.Exit(2)
	}

	stop := make(chan struct{})
	killed := make(chan int64, 1)
	go watch(*pid, *killAbove, stop, killed)

	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{MaxConnsPerHost: *n, MaxIdleConnsPerHost: *n}}
	type result struct {
		status  int
		latency time.Duration
		err     error
	}
	results := make([]result, *n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{
				"email": fmt.Sprintf("nobody-%d-%d@example.com", time.Now().UnixNano(), i), "password": "not-the-password-1",
			})
			<-start
			t0 := time.Now()
			resp, err := client.Post(*base+"/v1/auth/login", "application/json", bytes.NewReader(body))
			results[i] = result{latency: time.Since(t0), err: err}
			if err == nil {
				results[i].status = resp.StatusCode
				resp.Body.Close()
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	total := time.Since(t0)
	close(stop)

	counts := map[string]int{}
	var lat []time.Duration
	for _, r := range results {
		if r.err != nil {
			counts["error"]++
			continue
		}
		counts[strconv.Itoa(r.status)]++
		lat = append(lat, r.latency)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("logins %d in %v: answers %v; latency p50 %v, p99 %v, max %v\n", *n, total.Round(time.Millisecond),
		counts, pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	select {
	case rss := <-killed:
		fmt.Printf("server killed at RSS %.2f GiB (over -kill-above)\n", float64(rss)/(1<<30))
	default:
		hwm, err := statusKiB(*pid, "VmHWM:")
		if err != nil {
			fmt.Fprintln(os.Stderr, "read VmHWM:", err)
			os.Exit(1)
		}
		fmt.Printf("server peak RSS (VmHWM) %d MiB\n", hwm>>10)
	}
}

// watch kills pid when its resident memory passes limit.
func watch(pid int, limit int64, stop <-chan struct{}, killed chan<- int64) {
	t := time.NewTicker(samplePeriod)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			kib, err := statusKiB(pid, "VmRSS:")
			if err == nil && kib<<10 > limit {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed <- kib << 10
				return
			}
		}
	}
}

// statusKiB reads one "Name:  123 kB" line of /proc/<pid>/status.
func statusKiB(pid int, name string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}
