package config

import (
	"errors"
	"net"
	"strconv"
	"strings"
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

// RateLimit is VaultRateLimit as a number of requests per 10 seconds.
func (c Config) RateLimit() (int, error) {
	if strings.EqualFold(c.VaultRateLimit, "azure") {
		return 4000, nil
	}
	if c.VaultRateLimit == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(c.VaultRateLimit)
	if err != nil || n < 0 {
		return 0, errors.New("not a number")
	}
	return n, nil
}

// Proxies parses TrustedProxies.
func (c Config) Proxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
				s += "/32"
			} else {
				s += "/128"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
