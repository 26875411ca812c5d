package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

// RefreshTokenLifetime is how long an unused refresh token stays valid (Entra ID: 90 days).
const RefreshTokenLifetime = 90 * 24 * time.Hour

// Session is what a refresh token stands for: a signed-in user (or service principal) and the client it signed in
// with. Refresh tokens are random strings; only their hash is stored.
type Session struct {
	TenantID    string    `json:"tenantId"`
	PrincipalID string    `json:"principalId"`
	ClientID    string    `json:"clientId"`
	Expires     time.Time `json:"expires"`
}

func refreshKey(token string) string {
	sum := sha256.Sum256([]byte("keyhaven refresh token\x00" + token))
	return hex.EncodeToString(sum[:])
}

// NewRefreshToken starts a session and returns its refresh token.
func (s *Service) NewRefreshToken(ctx context.Context, sess Session) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := "khrt." + base64.RawURLEncoding.EncodeToString(b)
	sess.Expires = s.now().Add(RefreshTokenLifetime).UTC()
	return token, storage.CreateJSON(ctx, s.store, kindRefreshToken, refreshKey(token), sess)
}

// RedeemRefreshToken exchanges a refresh token for its session and a new refresh token; the old one stops working
// (rotation), and the principal must still exist and be enabled.
func (s *Service) RedeemRefreshToken(ctx context.Context, token, clientID string) (Session, string, error) {
	k := refreshKey(token)
	sess, version, err := storage.GetJSON[Session](ctx, s.store, kindRefreshToken, k)
	if errors.Is(err, storage.ErrNotFound) {
		return Session{}, "", fmt.Errorf("%w: unknown or used refresh token", ErrBadCredentials)
	}
	if err != nil {
		return Session{}, "", err
	}
	if err := s.store.Delete(ctx, kindRefreshToken, k, version); err != nil {
		// Another request redeemed it first.
		return Session{}, "", fmt.Errorf("%w: refresh token already used", ErrBadCredentials)
	}
	if !s.now().Before(sess.Expires) {
		return Session{}, "", fmt.Errorf("%w: refresh token expired", ErrBadCredentials)
	}
	if clientID != "" && clientID != sess.ClientID {
		return Session{}, "", fmt.Errorf("%w: refresh token was issued to another client", ErrBadCredentials)
	}
	if ok, err := s.Exists(ctx, sess.TenantID, sess.PrincipalID); err != nil {
		return Session{}, "", err
	} else if !ok {
		return Session{}, "", fmt.Errorf("%w: the signed-in principal no longer exists", ErrNotFound)
	}
	if u, err := s.User(ctx, sess.TenantID, sess.PrincipalID); err == nil && !u.AccountEnabled {
		return Session{}, "", fmt.Errorf("%w: the signed-in user is disabled", ErrDisabled)
	}
	next, err := s.NewRefreshToken(ctx, sess)
	return sess, next, err
}

// GrantDirectoryRole gives a principal a directory role (by role template id), such as GlobalAdministrator.
func (s *Service) GrantDirectoryRole(ctx context.Context, tenantID, roleTemplateID, principalID string) error {
	err := storage.CreateJSON(ctx, s.store, kindDirectoryRole, key(tenantID, roleTemplateID)+"/"+principalID, principalID)
	if errors.Is(err, storage.ErrConflict) {
		return nil
	}
	return err
}

// HasDirectoryRole reports whether a principal holds a directory role, directly or through a group.
func (s *Service) HasDirectoryRole(ctx context.Context, tenantID, roleTemplateID, principalID string) (bool, error) {
	ids := []string{principalID}
	groups, err := s.TransitiveGroups(ctx, tenantID, principalID)
	if err != nil {
		return false, err
	}
	for _, id := range append(ids, groups...) {
		_, err := s.store.Get(ctx, kindDirectoryRole, key(tenantID, roleTemplateID)+"/"+id)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}
