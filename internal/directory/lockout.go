package directory

import (
	"sync"
	"time"
)

// LockoutPolicy is smart lockout: after Threshold failed sign-ins within Window, an account is locked for
// Duration (Entra ID's defaults: 10 failures, then 60 s). Every failure also costs a short delay.
type LockoutPolicy struct {
	Threshold int
	Window    time.Duration
	Duration  time.Duration
}

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.Threshold <= 0 {
		p.Threshold = 10
	}
	if p.Window <= 0 {
		p.Window = 10 * time.Minute
	}
	if p.Duration <= 0 {
		p.Duration = time.Minute
	}
	return p
}

// lockout counts failed sign-ins per account, on this node.
type lockout struct {
	policy LockoutPolicy
	now    func() time.Time

	mu       sync.Mutex // guards accounts
	accounts map[string]*failures
}

type failures struct {
	count       int
	first       time.Time
	lockedUntil time.Time
}

func newLockout(p LockoutPolicy, now func() time.Time) *lockout {
	return &lockout{policy: p.withDefaults(), now: now, accounts: map[string]*failures{}}
}

// locked reports whether the account may not sign in now.
func (l *lockout) locked(account string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.accounts[account]
	return f != nil && l.now().Before(f.lockedUntil)
}

// fail records a failed sign-in.
func (l *lockout) fail(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.accounts[account]
	if f == nil || now.Sub(f.first) > l.policy.Window {
		f = &failures{first: now}
		l.accounts[account] = f
	}
	f.count++
	if f.count >= l.policy.Threshold {
		f.lockedUntil = now.Add(l.policy.Duration)
		f.count = 0
		f.first = now
	}
	// Keep the map bounded under a spray of names.
	if len(l.accounts) > 100_000 {
		for k, v := range l.accounts {
			if now.Sub(v.first) > l.policy.Window && now.After(v.lockedUntil) {
				delete(l.accounts, k)
			}
		}
	}
}

// succeed clears an account's failures.
func (l *lockout) succeed(account string) {
	l.mu.Lock()
	delete(l.accounts, account)
	l.mu.Unlock()
}
