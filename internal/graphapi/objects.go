package graphapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
)

// Graph's JSON for each object type. Fields Graph returns but keyhaven does not model are sent as null or empty,
// so clients that read them find the keys they expect.

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func userView(u directory.User) map[string]any {
	return map[string]any{
		"id": u.ID, "businessPhones": []string{}, "displayName": u.DisplayName,
		"givenName": nil, "jobTitle": nil, "mail": nil, "mobilePhone": nil, "officeLocation": nil,
		"preferredLanguage": nil, "surname": nil, "userPrincipalName": u.UserPrincipalName,
		"accountEnabled": u.AccountEnabled, "mailNickname": u.MailNickname, "createdDateTime": graphTime(u.Created),
	}
}

func groupView(g directory.Group) map[string]any {
	return map[string]any{
		"id": g.ID, "deletedDateTime": nil, "classification": nil,
		"createdDateTime": graphTime(g.Created), "creationOptions": []string{}, "description": nilIfEmpty(g.Description),
		"displayName": g.DisplayName, "expirationDateTime": nil, "groupTypes": []string{}, "isAssignableToRole": nil,
		"mail": nil, "mailEnabled": false, "mailNickname": g.MailNickname, "membershipRule": nil,
		"membershipRuleProcessingState": nil, "onPremisesSyncEnabled": nil, "preferredDataLocation": nil,
		"proxyAddresses": []string{}, "renewedDateTime": graphTime(g.Created), "resourceBehaviorOptions": []string{},
		"resourceProvisioningOptions": []string{}, "securityEnabled": g.SecurityEnabled, "securityIdentifier": sid(g.ID),
		"theme": nil, "visibility": nil,
	}
}

// sid is the Windows security identifier Entra ID derives from an object id (S-1-12-1- and the GUID as four
// little-endian uint32s).
func sid(id string) string {
	h := strings.ReplaceAll(id, "-", "")
	if len(h) != 32 {
		return ""
	}
	b := make([]byte, 16)
	for i := range b {
		v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		b[i] = byte(v)
	}
	// The GUID's first three fields are stored little-endian in its byte form.
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	le := func(p []byte) uint32 { return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24 }
	return fmt.Sprintf("S-1-12-1-%d-%d-%d-%d", le(b[0:4]), le(b[4:8]), le(b[8:12]), le(b[12:16]))
}

func applicationView(app directory.Application) map[string]any {
	pcs := make([]map[string]any, 0, len(app.PasswordCredentials))
	for _, p := range app.PasswordCredentials {
		pcs = append(pcs, passwordView(p, ""))
	}
	kcs := make([]map[string]any, 0, len(app.KeyCredentials))
	for _, k := range app.KeyCredentials {
		kcs = append(kcs, map[string]any{
			"customKeyIdentifier": k.CustomKeyIdentifier, "displayName": k.DisplayName, "endDateTime": graphTime(k.EndDateTime),
			"key": nil, "keyId": k.KeyID, "startDateTime": graphTime(k.StartDateTime), "type": k.Type, "usage": k.Usage,
		})
	}
	return map[string]any{
		"id": app.ID, "appId": app.AppID, "displayName": app.DisplayName,
		"createdDateTime": graphTime(app.Created), "deletedDateTime": nil, "identifierUris": []string{},
		"signInAudience": app.SignInAudience, "publisherDomain": nil, "keyCredentials": kcs, "passwordCredentials": pcs,
		"requiredResourceAccess": []any{}, "tags": []string{},
	}
}

func passwordView(p directory.PasswordCredential, secret string) map[string]any {
	return map[string]any{
		"customKeyIdentifier": nil, "displayName": nilIfEmpty(p.DisplayName), "endDateTime": graphTime(p.EndDateTime),
		"hint": p.Hint, "keyId": p.KeyID, "secretText": nilIfEmpty(secret), "startDateTime": graphTime(p.StartDateTime),
	}
}

func servicePrincipalView(sp directory.ServicePrincipal) map[string]any {
	return map[string]any{
		"id": sp.ID, "appId": sp.AppID, "displayName": sp.DisplayName,
		"appDisplayName": sp.DisplayName, "accountEnabled": sp.AccountEnabled, "alternativeNames": sp.AlternativeNames,
		"appOwnerOrganizationId": sp.TenantID, "servicePrincipalNames": sp.ServicePrincipalNames,
		"servicePrincipalType": sp.ServicePrincipalType, "signInAudience": "AzureADMyOrg", "tags": []string{},
		"keyCredentials": []any{}, "passwordCredentials": []any{}, "deletedDateTime": nil,
	}
}

func principalView(p directory.Principal) map[string]any {
	v := map[string]any{"@odata.type": "#microsoft.graph." + p.Type, "id": p.ID, "displayName": p.DisplayName}
	switch p.Type {
	case directory.TypeUser:
		v["userPrincipalName"] = p.UserPrincipalName
	case directory.TypeServicePrincipal:
		v["appId"] = p.AppID
		v["servicePrincipalType"] = p.ServicePrincipalType
	}
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// graphBase is the URL prefix of @odata.context and nextLink values.
func graphBase(r *http.Request) string {
	return "https://" + strings.TrimSuffix(r.Host, ":443") + "/v1.0/"
}

func writeEntity(w http.ResponseWriter, r *http.Request, status int, set string, v map[string]any) {
	v["@odata.context"] = graphBase(r) + "$metadata#" + set + "/$entity"
	httpx.WriteJSON(w, status, v)
}

// writeList writes a page of a collection: $top (1-999, default 100) and an opaque $skiptoken in @odata.nextLink.
func writeList(w http.ResponseWriter, r *http.Request, set string, items []map[string]any) error {
	q := r.URL.Query()
	top := 100
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 999 {
			return httpx.E(codeBadRequestPlain, "Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", s)
		}
		top = n
	}
	start := 0
	if s := q.Get("$skiptoken"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return httpx.E(codeBadRequestPlain, "Invalid $skiptoken.")
		}
		start = min(n, len(items))
	}
	end := min(start+top, len(items))
	body := map[string]any{"@odata.context": graphBase(r) + "$metadata#" + set, "value": items[start:end]}
	if end < len(items) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		body["@odata.nextLink"] = graphBase(r) + strings.TrimPrefix(r.URL.Path, "/v1.0/") + "?" + next.Encode()
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// filtered applies $filter to items, given each item's properties.
func filtered[T any](r *http.Request, items []T, props func(T, string) ([]string, bool), view func(T) map[string]any) ([]map[string]any, error) {
	f, err := parseFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return nil, httpx.E(codeBadRequestPlain, "Invalid filter clause").WithCause(err)
	}
	out := []map[string]any{}
	for _, it := range items {
		ok, err := f.match(func(name string) ([]string, bool) { return props(it, name) })
		if err != nil {
			return nil, httpx.E(codeBadRequestPlain, "Invalid filter clause: unsupported property.").WithCause(err)
		}
		if ok {
			out = append(out, view(it))
		}
	}
	return out, nil
}

// decode reads a Graph request body.
func decode(r *http.Request, v any) error {
	if err := httpx.DecodeJSON(r, 64<<10, v); err != nil {
		var e *httpx.Error
		if errors.As(err, &e) {
			return httpx.E(codeBadRequestPlain, "%s", e.Message)
		}
		return err
	}
	return nil
}

// odataID extracts the object id from an @odata.id reference such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id}.
func odataID(ref string) string {
	ref = strings.TrimSuffix(ref, "/")
	return ref[strings.LastIndex(ref, "/")+1:]
}
