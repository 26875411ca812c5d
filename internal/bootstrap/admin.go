package bootstrap

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/rbac"
	"github.com/keyhaven/keyhaven/storage"
)

// AdminName is the bootstrap administrator's login name (its UPN is admin@<tenant domain>).
const AdminName = "admin"

// EnsureAdmin creates the administrator on a fresh installation: a user named admin with the given password (or a
// generated one), Global Administrator of the directory and Owner of the subscription. It returns the password
// when this call created the account, and "" when the account already existed.
func EnsureAdmin(ctx context.Context, s storage.Store, dir *directory.Service, inst Install, password string, now time.Time) (string, directory.User, error) {
	if u, err := dir.User(ctx, inst.TenantID, AdminName); err == nil {
		return "", u, nil
	} else if !errors.Is(err, directory.ErrNotFound) {
		return "", directory.User{}, err
	}
	if password == "" {
		password = directory.GeneratePassword()
	}
	t, err := dir.Tenant(ctx, inst.TenantID)
	if err != nil {
		return "", directory.User{}, err
	}
	u, err := dir.CreateUser(ctx, inst.TenantID, directory.NewUser{
		UserPrincipalName: AdminName + "@" + t.Domain, DisplayName: "keyhaven administrator", Password: password,
	})
	if errors.Is(err, directory.ErrExists) {
		// Another node created it first; its password stands.
		u, err = dir.User(ctx, inst.TenantID, AdminName)
		return "", u, err
	}
	if err != nil {
		return "", u, err
	}
	if err := dir.GrantDirectoryRole(ctx, inst.TenantID, directory.GlobalAdministrator, u.ID); err != nil {
		return "", u, err
	}
	ra := rbac.NewAssignment(uuid.NewString(), "/subscriptions/"+inst.SubscriptionID, inst.SubscriptionID, rbac.RoleOwner, u.ID, "User", now)
	if err := rbac.Create(ctx, s, ra); err != nil {
		return "", u, err
	}
	return password, u, nil
}
