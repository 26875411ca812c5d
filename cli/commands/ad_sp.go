package commands

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// resolveSP finds a service principal by object id, app id or service principal name.
func resolveSP(ctx *cli.Context, s *client.Session, id string) (map[string]any, error) {
	if isGUID(id) {
		var out map[string]any
		if err := s.Graph(ctx, "GET", "/servicePrincipals/"+url.PathEscape(id), nil, &out); err == nil {
			return graphObject(out), nil
		}
	}
	found, err := graphList(ctx, s, filterPath("/servicePrincipals", "servicePrincipalNames/any(c:c eq "+odataQuote(id)+")"))
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("Service principal '%s' doesn't exist", id)
	}
	return found[0], nil
}

func registerADSP(app *cli.App) {
	app.Register(
		cli.Command{
			Name:  "ad sp create-for-rbac",
			Short: "Create an application and its associated service principal, optionally configure the service principal's RBAC role assignments.",
			Params: []cli.Param{
				{Name: "name", Short: "n", Help: "Display name of the service principal. If not present, default to azure-cli-%Y-%m-%d-%H-%M-%S where the suffix is the time of creation."},
				{Name: "create-cert", Bool: true, Help: "Create a self-signed certificate to use for the credential. The certificate and its private key are written to a PEM file in the CLI's config dir."},
				{Name: "years", Help: "Number of years for which the credentials will be valid. Default: 1 year.", Check: func(v string) error {
					if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 100 {
						return errors.New("invalid int value")
					}
					return nil
				}},
				{Name: "role", Help: "Role of the service principal."},
				{Name: "scopes", Multi: true, Help: "Space-separated list of scopes the service principal's role assignment applies to."},
			},
			Run: createForRBAC,
		},
		cli.Command{
			Name: "ad sp list", Short: "List service principals.",
			Params: []cli.Param{
				{Name: "display-name", Help: "Object's display name or its prefix."},
				{Name: "spn", Help: "Service principal name."},
				{Name: "filter", Help: "OData filter."},
				{Name: "all", Bool: true, Help: "List all entities, expect long delay if under a big organization."},
			},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				var dn, spn string
				if v := ctx.String("display-name"); v != "" {
					dn = "startswith(displayName," + odataQuote(v) + ")"
				}
				if v := ctx.String("spn"); v != "" {
					spn = "servicePrincipalNames/any(c:c eq " + odataQuote(v) + ")"
				}
				return graphList(ctx, s, filterPath("/servicePrincipals", ctx.String("filter"), dn, spn))
			},
		},
		cli.Command{
			Name: "ad sp show", Short: "Get the details of a service principal.",
			Params: []cli.Param{{Name: "id", Required: true, Help: "Service principal name, or object id."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				return resolveSP(ctx, s, ctx.String("id"))
			},
		},
		cli.Command{
			Name: "ad sp delete", Short: "Delete a service principal.",
			Params: []cli.Param{{Name: "id", Required: true, Help: "Service principal name, or object id."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				sp, err := resolveSP(ctx, s, ctx.String("id"))
				if err != nil {
					return nil, err
				}
				return nil, graphErr(s.Graph(ctx, "DELETE", "/servicePrincipals/"+url.PathEscape(sp["id"].(string)), nil, nil))
			},
		},
	)
}

func createForRBAC(ctx *cli.Context) (any, error) {
	if ctx.Has("role") || ctx.Has("scopes") {
		return nil, errors.New("--role and --scopes need role assignments, which keyhaven's management plane does not serve yet; create the service principal without them")
	}
	s, err := session(ctx)
	if err != nil {
		return nil, err
	}
	name := ctx.String("name")
	if name == "" {
		name = "azure-cli-" + time.Now().UTC().Format("2006-01-02-15-04-05")
	}
	years := 1
	if v := ctx.String("years"); v != "" {
		years, _ = strconv.Atoi(v)
	}
	// Reuse an application with the same display name, as az does, adding a credential.
	apps, err := graphList(ctx, s, filterPath("/applications", "displayName eq "+odataQuote(name)))
	if err != nil {
		return nil, err
	}
	var app map[string]any
	if len(apps) > 0 {
		app = apps[0]
		ctx.Log.Warn(fmt.Sprintf("Found an existing application instance: (id) %s. We will patch it.", app["id"]))
	} else if err := s.Graph(ctx, "POST", "/applications", map[string]any{"displayName": name}, &app); err != nil {
		return nil, graphErr(err)
	}
	appID, objID := app["appId"].(string), app["id"].(string)
	sps, err := graphList(ctx, s, filterPath("/servicePrincipals", "appId eq "+odataQuote(appID)))
	if err != nil {
		return nil, err
	}
	if len(sps) == 0 {
		if err := s.Graph(ctx, "POST", "/servicePrincipals", map[string]any{"appId": appID}, nil); err != nil {
			return nil, graphErr(err)
		}
	}
	out := map[string]any{"appId": appID, "displayName": name, "tenant": s.Profile.TenantID}
	end := time.Now().AddDate(years, 0, 0)
	if ctx.Bool("create-cert") {
		pemData, der, err := selfSignedCert(name, end)
		if err != nil {
			return nil, err
		}
		patch := map[string]any{"keyCredentials": []map[string]any{{"type": "AsymmetricX509Cert", "usage": "Verify",
			"key": base64.StdEncoding.EncodeToString(der), "displayName": "CN=" + name}}}
		if err := s.Graph(ctx, "PATCH", "/applications/"+url.PathEscape(objID), patch, nil); err != nil {
			return nil, graphErr(err)
		}
		dir, err := client.ConfigDir(ctx.Env)
		if err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(dir, "tmp*.pem")
		if err != nil {
			return nil, err
		}
		f.Chmod(0o600)
		if _, err := f.Write(pemData); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(f.Name())
		out["fileWithCertAndPrivateKey"] = abs
		out["password"] = nil
		ctx.Log.Warn("Please copy " + abs + " to a safe place. When you run 'keyhaven login', provide the file path in the --certificate argument")
	} else {
		var cred map[string]any
		body := map[string]any{"passwordCredential": map[string]any{"displayName": "rbac", "endDateTime": end.UTC().Format(time.RFC3339)}}
		if err := s.Graph(ctx, "POST", "/applications/"+url.PathEscape(objID)+"/addPassword", body, &cred); err != nil {
			return nil, graphErr(err)
		}
		out["password"] = cred["secretText"]
	}
	ctx.Log.Warn("The output includes credentials that you must protect. Be sure that you do not include these credentials in your code or check the credentials into your source control. For more information, see https://aka.ms/azadsp-cli")
	return out, nil
}

// selfSignedCert makes an RSA certificate for a service principal and returns the PEM of key and certificate
// (as az writes it) and the certificate's DER.
func selfSignedCert(name string, notAfter time.Time) ([]byte, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	return out, der, nil
}
