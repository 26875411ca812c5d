// Package runner is the platform around one app process, as App Service (or a VM) is for Azure apps: it starts
// the app with its app settings as environment, serves the app's managed identity token endpoints on loopback
// (App Service's 2019-08-01 and 2017-09-01 protocols, or IMDS for VMs), and is the app's network: a local proxy
// sends Azure's host names to keyhaven and everything else where it was going, and the app trusts keyhaven's CA
// with no code change. The app never holds a secret that could get a token elsewhere.
package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Token is an access token for the app's identity.
type Token struct {
	AccessToken string
	ExpiresOn   time.Time
	NotBefore   time.Time
	Resource    string
	ClientID    string
}

// Selector names an identity: a client id, an object (principal) id, or a user-assigned identity's resource id;
// none means the system-assigned identity.
type Selector struct {
	ClientID, ObjectID, ResourceID string
}

// TokenError is a refusal from the server, passed on to the app with its status.
type TokenError struct {
	Status  int
	Message string
}

func (e *TokenError) Error() string { return e.Message }

// tokenSource gets tokens from keyhaven over the runner's credential and caches them until five minutes before
// they expire, so the app's requests are answered locally.
type tokenSource struct {
	http       *http.Client
	endpoint   string // https://login.microsoftonline.com/keyhaven/runtime/token
	credential string
	now        func() time.Time

	mu    sync.Mutex // guards cache
	cache map[string]Token
}

// refreshBefore is how long before expiry a cached token is replaced.
const refreshBefore = 5 * time.Minute

func (s *tokenSource) get(ctx context.Context, sel Selector, resource string) (Token, error) {
	key := sel.ClientID + "\x00" + sel.ObjectID + "\x00" + strings.ToLower(sel.ResourceID) + "\x00" + resource
	s.mu.Lock()
	t, ok := s.cache[key]
	s.mu.Unlock()
	if ok && s.now().Add(refreshBefore).Before(t.ExpiresOn) {
		return t, nil
	}
	t, err := s.fetch(ctx, sel, resource)
	if err != nil {
		return Token{}, err
	}
	s.mu.Lock()
	s.cache[key] = t
	s.mu.Unlock()
	return t, nil
}

// forget drops cached tokens, so a change on the server (an identity removed) shows at once.
func (s *tokenSource) fetch(ctx context.Context, sel Selector, resource string) (Token, error) {
	q := url.Values{"resource": {resource}}
	if sel.ClientID != "" {
		q.Set("client_id", sel.ClientID)
	}
	if sel.ObjectID != "" {
		q.Set("object_id", sel.ObjectID)
	}
	if sel.ResourceID != "" {
		q.Set("mi_res_id", sel.ResourceID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Authorization", "KeyhavenRuntime "+s.credential)
	resp, err := s.http.Do(req)
	if err != nil {
		return Token{}, &TokenError{Status: http.StatusServiceUnavailable, Message: "keyhaven is not reachable: " + err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(body, &e)
		status := resp.StatusCode
		if status == http.StatusUnauthorized {
			status = http.StatusForbidden // the app's request was fine; the runner's standing is gone
		}
		return Token{}, &TokenError{Status: status, Message: e.Error.Message}
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresOn   int64  `json:"expires_on"`
		NotBefore   int64  `json:"not_before"`
		Resource    string `json:"resource"`
		ClientID    string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		return Token{}, fmt.Errorf("keyhaven answered a token request with %s", resp.Status)
	}
	return Token{AccessToken: out.AccessToken, ExpiresOn: time.Unix(out.ExpiresOn, 0), NotBefore: time.Unix(out.NotBefore, 0),
		Resource: out.Resource, ClientID: out.ClientID}, nil
}
