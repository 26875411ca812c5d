package directory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const tid = "11111111-2222-3333-4444-555555555555"

func newDir(t *testing.T) (*Service, *clock) {
	t.Helper()
	raw := sqltest.OpenSQLite(t)
	t.Cleanup(func() { raw.Close() })
	b, err := barrier.Open(context.Background(), raw, barrier.GenerateRootKey())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := New(Config{Store: b.Store(), Now: clk.Now})
	if err := CreateTenant(context.Background(), b.Store(), Tenant{ID: tid, Domain: "contoso.test", DisplayName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestPasswords(t *testing.T) {
	h := HashPassword("Correct-Horse-1")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	if !CheckPassword(h, "Correct-Horse-1") || CheckPassword(h, "correct-horse-1") || CheckPassword(h, "") {
		t.Fatal("CheckPassword")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=x$a$b", "$argon2id$v=19$m=99999999,t=2,p=1$YQ$YQ", "$bcrypt$x"} {
		if CheckPassword(bad, "x") {
			t.Errorf("accepted hash %q", bad)
		}
	}
	for pw, ok := range map[string]bool{"short1A": false, "alllowercase": false, "lower-and-1": true, "UPPER lower": true, "UPPERlower": false, "Upper lower 1": true, GeneratePassword(): true} {
		if err := checkPasswordPolicy(pw); (err == nil) != ok {
			t.Errorf("policy(%q) = %v", pw, err)
		}
	}
}

func TestUsersAndLockout(t *testing.T) {
	s, clk := newDir(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "Ann@Contoso.test", DisplayName: "Ann", Password: "Ann-Passw0rd"})
	if err != nil {
		t.Fatal(err)
	}
	if u.UserPrincipalName != "Ann@contoso.test" || u.PasswordHash == "" || !u.AccountEnabled {
		t.Errorf("user %+v", u)
	}
	if _, err := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "ann@CONTOSO.test", DisplayName: "Ann 2", Password: "Ann-Passw0rd"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate UPN, other case: %v", err)
	}
	for _, bad := range []NewUser{
		{UserPrincipalName: "bob@other.test", DisplayName: "Bob", Password: "Bob-Passw0rd"},
		{UserPrincipalName: "bob", DisplayName: "Bob", Password: "Bob-Passw0rd"},
		{UserPrincipalName: "bob@contoso.test", DisplayName: " ", Password: "Bob-Passw0rd"},
		{UserPrincipalName: "bob@contoso.test", DisplayName: "Bob", Password: "weak"},
	} {
		if _, err := s.CreateUser(ctx, tid, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	for _, name := range []string{"ann", "ANN@contoso.test", u.ID} {
		if got, err := s.User(ctx, tid, name); err != nil || got.ID != u.ID {
			t.Errorf("User(%q): %v", name, err)
		}
	}
	if _, err := s.AuthenticateUser(ctx, tid, "ann", "Ann-Passw0rd"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateUser(ctx, tid, "nobody", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	for i := 0; i < 10; i++ {
		if _, err := s.AuthenticateUser(ctx, tid, "ann", "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := s.AuthenticateUser(ctx, tid, "ann", "Ann-Passw0rd"); !errors.Is(err, ErrLocked) {
		t.Fatalf("after 10 failures: %v", err)
	}
	clk.Advance(61 * time.Second)
	if _, err := s.AuthenticateUser(ctx, tid, "ann", "Ann-Passw0rd"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// Failures spread beyond the window do not add up.
	for i := 0; i < 15; i++ {
		s.AuthenticateUser(ctx, tid, "ann", "wrong")
		if i%9 == 8 {
			clk.Advance(11 * time.Minute)
		}
	}
	if err := s.DeleteUser(ctx, tid, "ann"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, tid, u.ID); ok {
		t.Error("deleted user exists")
	}
	if _, err := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "ann@contoso.test", DisplayName: "Ann again", Password: "Ann-Passw0rd"}); err != nil {
		t.Errorf("UPN not freed by delete: %v", err)
	}
}

func TestSecretsAndServicePrincipals(t *testing.T) {
	s, clk := newDir(t)
	ctx := context.Background()
	app, err := s.CreateApplication(ctx, tid, "api")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateClientSecret(ctx, tid, app.AppID, "x"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("no secret yet: %v", err)
	}
	cred, secret, err := s.AddPassword(ctx, tid, app.ID, "ci", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 40 || cred.Hint != secret[:3] || strings.Contains(string(cred.Hash), secret) {
		t.Fatalf("credential %+v", cred)
	}
	got, _ := s.Application(ctx, tid, app.AppID)
	if len(got.PasswordCredentials) != 1 || string(got.PasswordCredentials[0].Hash) == secret {
		t.Fatal("secret stored in the clear")
	}
	// Without a service principal the application cannot sign in.
	if _, err := s.AuthenticateClientSecret(ctx, tid, app.AppID, secret); !errors.Is(err, ErrDisabled) {
		t.Errorf("no service principal: %v", err)
	}
	sp, err := s.CreateServicePrincipal(ctx, tid, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateServicePrincipal(ctx, tid, app.AppID); !errors.Is(err, ErrExists) {
		t.Errorf("second service principal: %v", err)
	}
	if got, err := s.AuthenticateClientSecret(ctx, tid, app.AppID, secret); err != nil || got.ID != sp.ID {
		t.Fatalf("sign-in: %v", err)
	}
	if _, err := s.AuthenticateClientSecret(ctx, "99999999-2222-3333-4444-555555555555", app.AppID, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("another tenant: %v", err)
	}
	clk.Advance(2 * time.Hour)
	if _, err := s.AuthenticateClientSecret(ctx, tid, app.AppID, secret); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("expired secret: %v", err)
	}
	// Managed identities, and deletion.
	mi, err := s.CreateManagedIdentity(ctx, tid, NewManagedIdentity{DisplayName: "web", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/web", SystemAssigned: true})
	if err != nil || mi.ServicePrincipalType != SPTypeManagedIdentity || mi.AppID == "" || mi.AlternativeNames[0] != "isExplicit=False" {
		t.Fatalf("managed identity %+v %v", mi, err)
	}
	if err := s.DeleteApplication(ctx, tid, app.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, tid, sp.ID); ok {
		t.Error("service principal survived its application")
	}
	if err := s.UseAssertionID(ctx, app.AppID, "jti-1", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.UseAssertionID(ctx, app.AppID, "jti-1", clk.Now().Add(time.Hour)); !errors.Is(err, ErrExists) {
		t.Errorf("replay: %v", err)
	}
}

func TestGroupsTransitive(t *testing.T) {
	s, _ := newDir(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "u@contoso.test", DisplayName: "U", Password: "U-Passw0rd"})
	a, _ := s.CreateGroup(ctx, tid, NewGroup{DisplayName: "A", MailNickname: "a"})
	b, _ := s.CreateGroup(ctx, tid, NewGroup{DisplayName: "B", MailNickname: "b"})
	c, _ := s.CreateGroup(ctx, tid, NewGroup{DisplayName: "C", MailNickname: "c"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddMember(ctx, tid, a.ID, u.ID))
	must(s.AddMember(ctx, tid, b.ID, a.ID))
	must(s.AddMember(ctx, tid, c.ID, b.ID))
	must(s.AddMember(ctx, tid, a.ID, c.ID)) // a cycle
	groups, err := s.TransitiveGroups(ctx, tid, u.ID)
	if err != nil || len(groups) != 3 {
		t.Fatalf("transitive: %v %v", groups, err)
	}
	if err := s.AddMember(ctx, tid, a.ID, a.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("self member: %v", err)
	}
	if err := s.AddMember(ctx, tid, a.ID, u.ID); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate member: %v", err)
	}
	must(s.DeleteGroup(ctx, tid, b.ID))
	if groups, _ := s.TransitiveGroups(ctx, tid, u.ID); len(groups) != 1 || groups[0] != a.ID {
		t.Fatalf("after deleting the middle group: %v", groups)
	}
	if ok, _ := s.HasDirectoryRole(ctx, tid, GlobalAdministrator, u.ID); ok {
		t.Fatal("role out of nowhere")
	}
	must(s.GrantDirectoryRole(ctx, tid, GlobalAdministrator, a.ID))
	if ok, _ := s.HasDirectoryRole(ctx, tid, GlobalAdministrator, u.ID); !ok {
		t.Fatal("role through a group")
	}
}

func TestRefreshTokens(t *testing.T) {
	s, clk := newDir(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "u@contoso.test", DisplayName: "U", Password: "U-Passw0rd"})
	rt, err := s.NewRefreshToken(ctx, Session{TenantID: tid, PrincipalID: u.ID, ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RedeemRefreshToken(ctx, rt, "other-client"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("other client: %v", err)
	}
	rt2, err := s.NewRefreshToken(ctx, Session{TenantID: tid, PrincipalID: u.ID, ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	sess, next, err := s.RedeemRefreshToken(ctx, rt2, "cli")
	if err != nil || sess.PrincipalID != u.ID || next == rt2 {
		t.Fatalf("redeem: %v", err)
	}
	if _, _, err := s.RedeemRefreshToken(ctx, rt2, "cli"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("reuse: %v", err)
	}
	clk.Advance(RefreshTokenLifetime + time.Minute)
	if _, _, err := s.RedeemRefreshToken(ctx, next, "cli"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("expired: %v", err)
	}
	// A disabled user's session does not refresh.
	off, _ := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "off@contoso.test", DisplayName: "Off", Password: "Off-Passw0rd", Disabled: true})
	rt3, err := s.NewRefreshToken(ctx, Session{TenantID: tid, PrincipalID: off.ID, ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RedeemRefreshToken(ctx, rt3, "cli"); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled user: %v", err)
	}
}

// Failed sign-ins count against the user whichever of its names they use.
func TestLockoutAcrossNames(t *testing.T) {
	s, _ := newDir(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, tid, NewUser{UserPrincipalName: "cy@contoso.test", DisplayName: "Cy", Password: "Cy-Passw0rd!"})
	names := []string{"cy", "cy@contoso.test", u.ID}
	for i := 0; i < 10; i++ {
		if _, err := s.AuthenticateUser(ctx, tid, names[i%3], "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	for _, name := range names {
		if _, err := s.AuthenticateUser(ctx, tid, name, "Cy-Passw0rd!"); !errors.Is(err, ErrLocked) {
			t.Errorf("%s after 10 failures under three names: %v", name, err)
		}
	}
}
