package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

// User is a user account.
type User struct {
	ID                string    `json:"id"`
	TenantID          string    `json:"tenantId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	MailNickname      string    `json:"mailNickname"`
	AccountEnabled    bool      `json:"accountEnabled"`
	PasswordHash      string    `json:"passwordHash"`
	Created           time.Time `json:"createdDateTime"`
}

// NewUser is what creating a user takes.
type NewUser struct {
	UserPrincipalName string
	DisplayName       string
	MailNickname      string
	Password          string
	// Disabled creates the account disabled.
	Disabled bool
}

// CreateUser adds a user. The UPN's domain must be the tenant's domain.
func (s *Service) CreateUser(ctx context.Context, tenantID string, in NewUser) (User, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return User{}, err
	}
	local, domain, ok := strings.Cut(in.UserPrincipalName, "@")
	if !ok || local == "" || strings.ContainsAny(local, " \t\r\n\"(),:;<>[\\]") || len(in.UserPrincipalName) > 113 {
		return User{}, invalid("Property userPrincipalName is invalid.")
	}
	if !strings.EqualFold(domain, t.Domain) {
		return User{}, invalid("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
	}
	if strings.TrimSpace(in.DisplayName) == "" || len(in.DisplayName) > 256 {
		return User{}, invalid("Invalid value specified for property 'displayName' of resource 'User'.")
	}
	if err := checkPasswordPolicy(in.Password); err != nil {
		return User{}, err
	}
	nick := in.MailNickname
	if nick == "" {
		nick = local
	}
	u := User{
		ID: newID(), TenantID: t.ID, UserPrincipalName: local + "@" + t.Domain, DisplayName: in.DisplayName,
		MailNickname: nick, AccountEnabled: !in.Disabled, PasswordHash: HashPassword(in.Password), Created: s.now().UTC(),
	}
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := storage.CreateJSON(ctx, tx, kindUserUPN, key(t.ID, nameKey(u.UserPrincipalName)), u.ID); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("%w: Another object with the same value for property userPrincipalName already exists.", ErrExists)
			}
			return err
		}
		return storage.CreateJSON(ctx, tx, kindUser, key(t.ID, u.ID), u)
	})
	return u, err
}

// User finds a user by object id or UPN. A UPN without a domain gets the tenant's (so "admin" finds admin@domain).
func (s *Service) User(ctx context.Context, tenantID, idOrUPN string) (User, error) {
	if id, ok := normalizeID(idOrUPN); ok {
		u, _, err := storage.GetJSON[User](ctx, s.store, kindUser, key(tenantID, id))
		if err == nil || !errors.Is(err, storage.ErrNotFound) {
			return u, err
		}
	}
	upn := idOrUPN
	if !strings.Contains(upn, "@") {
		t, err := s.Tenant(ctx, tenantID)
		if err != nil {
			return User{}, err
		}
		upn += "@" + t.Domain
	}
	id, _, err := storage.GetJSON[string](ctx, s.store, kindUserUPN, key(tenantID, nameKey(upn)))
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", idOrUPN, err)
	}
	u, _, err := storage.GetJSON[User](ctx, s.store, kindUser, key(tenantID, id))
	return u, err
}

// Users lists a tenant's users.
func (s *Service) Users(ctx context.Context, tenantID string) ([]User, error) {
	return storage.ListAll[User](ctx, s.store, kindUser, tenantID+"/")
}

// DeleteUser removes a user with its memberships and sessions.
func (s *Service) DeleteUser(ctx context.Context, tenantID, id string) error {
	defer s.groups.Clear()
	u, err := s.User(ctx, tenantID, id)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, kindUser, key(tenantID, u.ID), 0); err != nil {
			return err
		}
		if err := tx.Delete(ctx, kindUserUPN, key(tenantID, nameKey(u.UserPrincipalName)), 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return deleteMembershipsTx(ctx, tx, tenantID, u.ID)
	})
}

// AuthenticateUser checks a user's password: ErrNotFound for an unknown user and ErrBadCredentials for a wrong
// password (Entra ID tells the two apart too: AADSTS50034 and AADSTS50126), after the same amount of work.
// Repeated failures lock the account name (ErrLocked) for a while.
func (s *Service) AuthenticateUser(ctx context.Context, tenantID, username, password string) (User, error) {
	u, err := s.User(ctx, tenantID, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	// A known user's failures count against the user, whichever name (UPN, short name, object id) was tried.
	account := tenantID + "/" + strings.ToLower(username)
	if err == nil {
		account = tenantID + "/" + u.ID
	}
	if s.lockout.locked(account) {
		return User{}, ErrLocked
	}
	if err != nil {
		CheckPassword(dummyHash(), password)
		s.lockout.fail(account)
		return User{}, fmt.Errorf("%w: no such user", ErrNotFound)
	}
	if !CheckPassword(u.PasswordHash, password) {
		s.lockout.fail(account)
		return User{}, ErrBadCredentials
	}
	if !u.AccountEnabled {
		return User{}, ErrDisabled
	}
	s.lockout.succeed(account)
	return u, nil
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, tenantID, id, password string) error {
	if err := checkPasswordPolicy(password); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		_, err := storage.UpdateJSON(ctx, tx, kindUser, key(tenantID, id), func(u *User) error {
			u.PasswordHash = HashPassword(password)
			return nil
		})
		return err
	})
}
