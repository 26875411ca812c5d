package kvapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/storage"
)

func isStoreNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// clientIP is the caller's address: the connection's, or, from a trusted proxy, the last X-Forwarded-For hop
// that is not itself a trusted proxy.
func (a *API) clientIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || !a.trustedProxy(ip) {
		return ip
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := net.ParseIP(strings.TrimSpace(hops[i]))
		if h == nil {
			break
		}
		if !a.trustedProxy(h) {
			return h
		}
	}
	return ip
}

func (a *API) trustedProxy(ip net.IP) bool {
	for _, n := range a.cfg.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// callerString is how Key Vault's messages name a caller.
func callerString(c *call) string {
	return fmt.Sprintf("appid=%s;oid=%s;iss=%s", c.claims.ClientID(), c.claims.Oid, c.claims.Iss)
}

// firewall applies the vault's network rules: public access, default action, IP rules, trusted-service bypass.
func (a *API) firewall(c *call) error {
	v := c.vault
	trusted := slices.Contains(a.cfg.TrustedServices, strings.ToLower(c.claims.ClientID()))
	ip := a.clientIP(c.r)
	if strings.EqualFold(v.PublicNetworkAccess, "Disabled") {
		if trusted && (v.NetworkAcls == nil || !strings.EqualFold(v.NetworkAcls.Bypass, "None")) {
			return nil
		}
		return httpx.E(codeForbidden, "Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: %s\r\nVault: %s;location=%s", callerString(c), v.Name, v.Location).WithInner("ForbiddenByFirewall")
	}
	acl := v.NetworkAcls
	if acl == nil || !strings.EqualFold(acl.DefaultAction, "Deny") {
		return nil
	}
	if trusted && strings.EqualFold(acl.Bypass, "AzureServices") {
		return nil
	}
	for _, rule := range acl.IPRules {
		if matchIP(rule.Value, ip) {
			return nil
		}
	}
	return httpx.E(codeForbidden, "Client address is not authorized and caller is not a trusted service.\r\nClient address: %s\r\nCaller: %s\r\nVault: %s;location=%s", ip, callerString(c), v.Name, v.Location).WithInner("ForbiddenByFirewall")
}

func matchIP(rule string, ip net.IP) bool {
	if ip == nil {
		return false
	}
	if _, n, err := net.ParseCIDR(rule); err == nil {
		return n.Contains(ip)
	}
	r := net.ParseIP(rule)
	return r != nil && r.Equal(ip)
}

// authorize applies access policies (the caller, its groups, compound identities) or, for RBAC vaults, data
// actions at the vault or object scope. The vault's mode decides; never both.
func (a *API) authorize(c *call, o op) error {
	ctx := c.r.Context()
	v := c.vault
	if v.EnableRbacAuthorization {
		scope := v.ResourceID
		if o.objectName && c.name != "" {
			scope += "/secrets/" + c.name
		}
		ok, err := a.cfg.ARM.Allowed(ctx, arm.Principal{TenantID: c.claims.Tid, ObjectID: c.claims.Oid}, o.dataAction, strings.ToLower(scope), true)
		if err != nil {
			return err
		}
		if !ok {
			return httpx.E(codeForbidden, "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions changed recently, please observe propagation time.\r\nCaller: %s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: %s;location=%s",
				callerString(c), o.dataAction, strings.ToLower(scope), v.Name, v.Location).WithInner("ForbiddenByRbac")
		}
		return nil
	}
	groups, err := a.cfg.Directory.TransitiveGroups(ctx, c.claims.Tid, c.claims.Oid)
	if err != nil {
		return err
	}
	ids := append(groups, strings.ToLower(c.claims.Oid))
	for _, p := range v.AccessPolicies {
		if !strings.EqualFold(p.TenantID, c.claims.Tid) || !slices.Contains(ids, strings.ToLower(p.ObjectID)) {
			continue
		}
		// A compound identity (objectId + applicationId) applies only when the call comes through that application.
		if p.ApplicationID != "" && !strings.EqualFold(p.ApplicationID, c.claims.ClientID()) {
			continue
		}
		if slices.ContainsFunc(p.Permissions.Secrets, func(s string) bool { return strings.EqualFold(s, o.permission) || strings.EqualFold(s, "all") }) {
			return nil
		}
	}
	return httpx.E(codeForbidden, "The user, group or application '%s' does not have secrets %s permission on key vault '%s;location=%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
		callerString(c), o.permission, v.Name, v.Location).WithInner("ForbiddenByPolicy")
}

// bucket is a vault's request budget for the current 10-second window.
type bucket struct {
	window time.Time
	used   int
}

// throttle counts a request against its vault's limit and says how long to wait when it is over.
func (a *API) throttle(vault string) time.Duration {
	if a.cfg.RateLimit <= 0 {
		return 0
	}
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buckets[vault]
	if b == nil || now.Sub(b.window) >= 10*time.Second {
		b = &bucket{window: now}
		a.buckets[vault] = b
	}
	b.used++
	if b.used > a.cfg.RateLimit {
		return b.window.Add(10 * time.Second).Sub(now)
	}
	return 0
}

// audit records the call: never a value, only who, what, where and the outcome.
func (a *API) audit(c *call, o op, vault string, start time.Time, written int, err error) {
	if a.cfg.Audit == nil {
		return
	}
	status := http.StatusOK
	code := ""
	var he *httpx.Error
	if errors.As(err, &he) {
		status, code = he.Code.Status, he.Code.Name
		if len(he.Inner) > 0 {
			code += "/" + he.Inner[0]
		}
	} else if err != nil {
		status, code = http.StatusInternalServerError, "InternalServerError"
	} else if written != 0 {
		status = written
	}
	rec := audit.Record{Time: start, Plane: "data", ClientIP: fmt.Sprint(a.clientIP(c.r)), Operation: o.name,
		Target: vault + "/secrets/" + c.name, Status: status, Code: code}
	if c.ver != "" {
		rec.Target += "/" + c.ver
	}
	if c.name == "" {
		rec.Target = vault
	}
	rec.Resource = c.vault.ResourceID
	if c.claims != nil {
		rec.CallerOID, rec.CallerAppID = c.claims.Oid, c.claims.ClientID()
	}
	if info := httpx.InfoFrom(c.r.Context()); info != nil {
		rec.RequestID = info.RequestID
	}
	a.cfg.Audit.Add(rec)
}
