package oidcapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyhaven/keyhaven/internal/httpx"
)

// discovery serves OpenID Connect metadata in Entra ID's shape, with every URL on the host the request came to,
// so MSAL's issuer check (issuer host = authority host) passes on Azure's names and on the zone's.
func (a *API) discovery(version int) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		seg := r.PathValue("tenant")
		tid := "{tenantid}"
		switch strings.ToLower(seg) {
		case "common", "organizations":
		default:
			t, err := a.tenantFor(r.Context(), seg, false)
			if err != nil {
				return err
			}
			tid = t.ID
		}
		base := "https://" + r.Host + "/" + seg
		var doc map[string]any
		if version == 2 {
			doc = map[string]any{
				"token_endpoint":                        base + "/oauth2/v2.0/token",
				"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
				"jwks_uri":                              base + "/discovery/v2.0/keys",
				"response_modes_supported":              []string{"query", "fragment", "form_post"},
				"subject_types_supported":               []string{"pairwise"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
				"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
				"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
				"issuer":                                a.issuerForDoc(r.Host, tid, 2),
				"request_uri_parameter_supported":       false,
				"userinfo_endpoint":                     "https://graph.microsoft.com/oidc/userinfo",
				"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
				"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
				"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
				"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
				"tenant_region_scope":                   "NA",
				"cloud_instance_name":                   "microsoftonline.com",
				"cloud_graph_host_name":                 "graph.windows.net",
				"msgraph_host":                          "graph.microsoft.com",
			}
		} else {
			doc = map[string]any{
				"token_endpoint":                        base + "/oauth2/token",
				"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
				"jwks_uri":                              "https://" + r.Host + "/common/discovery/keys",
				"response_modes_supported":              []string{"query", "fragment", "form_post"},
				"subject_types_supported":               []string{"pairwise"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
				"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
				"scopes_supported":                      []string{"openid"},
				"issuer":                                a.issuerForDoc(r.Host, tid, 1),
				"authorization_endpoint":                base + "/oauth2/authorize",
				"end_session_endpoint":                  base + "/oauth2/logout",
				"tenant_region_scope":                   "NA",
				"cloud_instance_name":                   "microsoftonline.com",
				"cloud_graph_host_name":                 "graph.windows.net",
				"msgraph_host":                          "graph.microsoft.com",
			}
		}
		httpx.WriteJSON(w, http.StatusOK, doc)
		return nil
	}
}

// issuerForDoc is the issuer a discovery document names. v2 documents name the login host the document was
// fetched from (MSAL compares it with the authority's host); v1 documents name sts.windows.net as Entra ID's do.
func (a *API) issuerForDoc(host, tid string, version int) string {
	if version == 2 && !a.zoneHost(host) {
		return "https://" + stripPort443(host) + "/" + tid + "/v2.0"
	}
	return a.issuer(host, tid, version)
}

func stripPort443(host string) string { return strings.TrimSuffix(host, ":443") }

func (a *API) keys(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"keys": a.cfg.Issuer.JWKS()})
	return nil
}

// instanceDiscovery answers MSAL's /common/discovery/instance: the tenant discovery endpoint for the authority it
// asks about, and the host aliases keyhaven answers to.
func (a *API) instanceDiscovery(w http.ResponseWriter, r *http.Request) error {
	ae := r.URL.Query().Get("authorization_endpoint")
	u, err := url.Parse(ae)
	if ae == "" || err != nil {
		return aadsts(codeInvalidInstance, 50049, "Unknown or invalid instance.")
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if u.Scheme != "https" || u.Host == "" || len(parts) < 2 || parts[0] == "" {
		return aadsts(codeInvalidInstance, 50049, "Unknown or invalid instance.")
	}
	host := u.Host
	aliases := []string{host}
	preferred := host
	if h := strings.ToLower(u.Hostname()); h == "login.microsoftonline.com" || h == "login.windows.net" || h == "login.microsoft.com" || h == "sts.windows.net" {
		aliases = []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}
		preferred = "login.microsoftonline.com"
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/" + parts[0] + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": preferred,
			"preferred_cache":   preferred,
			"aliases":           aliases,
		}},
	})
	return nil
}

// userRealm answers MSAL's home-realm discovery for username/password sign-in: every keyhaven account is managed.
func (a *API) userRealm(w http.ResponseWriter, r *http.Request) error {
	user := r.PathValue("user")
	domain := user
	if _, d, ok := strings.Cut(user, "@"); ok {
		domain = d
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"ver": "1.0", "account_type": "Managed", "domain_name": domain,
		"cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline",
	})
	return nil
}
