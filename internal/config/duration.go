package config

import (
	"errors"
	"time"
)

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// Shutdown is ShutdownTimeout as a duration; Validate has checked it.
func (c Config) Shutdown() time.Duration {
	d, _ := parseDuration(c.ShutdownTimeout)
	return d
}

// Lifetimes returns the token lifetimes; Validate has checked them.
func (c Config) Lifetimes() (user, mi time.Duration) {
	user, _ = parseDuration(c.TokenLifetime)
	mi, _ = parseDuration(c.MITokenLifetime)
	return user, mi
}
