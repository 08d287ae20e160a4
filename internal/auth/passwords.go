package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of password hashing. One argon2id computation holds ArgonMemory, so
// unbounded concurrent logins (unknown emails hash too, to hide timing) used
// to take the process to many GiB and stop it answering.
const (
	// ArgonMemory is what one argon2id computation allocates (argonParams).
	ArgonMemory = 64 << 20
	// PasswordHashMemoryBudget is the most memory all concurrent argon2id
	// computations of a process may hold (also capped at a quarter of the
	// machine's memory).
	PasswordHashMemoryBudget = 512 << 20
	// PasswordHashWait is how long a request waits for a free hashing slot
	// before it is refused with ErrPasswordHashingBusy.
	PasswordHashWait = 2 * time.Second
	// PasswordHashRetryAfter is the Retry-After of that refusal.
	PasswordHashRetryAfter = 2 * time.Second
)

// ErrPasswordHashingBusy: every hashing slot stayed taken for the whole wait.
var ErrPasswordHashingBusy = errors.New("too many password checks in progress; retry shortly")

// PasswordSlots is how many argon2id computations may run at once on this
// machine: one per CPU, within the memory budget, at least one.
func PasswordSlots() int {
	budget := int64(PasswordHashMemoryBudget)
	if total := machineMemory(); total > 0 {
		budget = min(budget, total/4)
	}
	return max(1, min(runtime.NumCPU(), int(budget/ArgonMemory)))
}

// machineMemory is the memory this process may use: the cgroup's limit when
// one is set, else the machine's total; 0 when unknown.
func machineMemory() int64 {
	var total int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kib, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					total = kib << 10
				}
				break
			}
		}
	}
	if raw, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err == nil && limit > 0 && (total == 0 || limit < total) {
			total = limit
		}
	}
	return total
}

// PasswordHasher runs argon2id with at most a fixed number of computations
// at once; the rest wait up to a deadline, then get ErrPasswordHashingBusy.
type PasswordHasher struct {
	slots chan struct{}
	wait  time.Duration
}

// NewPasswordHasher allows slots concurrent computations and makes a caller
// wait at most wait for one.
func NewPasswordHasher(slots int, wait time.Duration) *PasswordHasher {
	if slots < 1 {
		panic(fmt.Sprintf("auth: %d password hashing slots", slots))
	}
	return &PasswordHasher{slots: make(chan struct{}, slots), wait: wait}
}

var (
	defaultHasherOnce sync.Once
	defaultHasher     *PasswordHasher
)

// DefaultPasswordHasher is the process-wide hasher (PasswordSlots,
// PasswordHashWait): the memory it bounds is the process's.
func DefaultPasswordHasher() *PasswordHasher {
	defaultHasherOnce.Do(func() { defaultHasher = NewPasswordHasher(PasswordSlots(), PasswordHashWait) })
	return defaultHasher
}

// Slots is the number of computations allowed at once.
func (h *PasswordHasher) Slots() int { return cap(h.slots) }

// InUse is the number of computations running now.
func (h *PasswordHasher) InUse() int { return len(h.slots) }

// Hold takes a hashing slot, waiting at most the hasher's wait, and returns
// the function that gives it back.
func (h *PasswordHasher) Hold(ctx context.Context) (release func(), err error) {
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, ErrPasswordHashingBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash returns the encoded argon2id hash of password.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.Hold(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password)
}

// Check reports whether password matches encoded (CheckPassword: an empty
// encoded still spends one computation, so unknown accounts cost the same).
func (h *PasswordHasher) Check(ctx context.Context, password, encoded string) (bool, error) {
	release, err := h.Hold(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return CheckPassword(password, encoded), nil
}
