package oidcapi

import (
	"fmt"
	"net/http"

	"github.com/keyhaven/keyhaven/internal/httpx"
)

// The token service's error catalogue: the OAuth2 error, its HTTP status, and Entra ID's AADSTS number. Messages
// follow Entra ID's wording where it is known.
var (
	codeInvalidRequest       = httpx.Code{Name: "invalid_request", Status: http.StatusBadRequest}
	codeInvalidClient        = httpx.Code{Name: "invalid_client", Status: http.StatusUnauthorized}
	codeUnauthorizedClient   = httpx.Code{Name: "unauthorized_client", Status: http.StatusBadRequest}
	codeInvalidGrant         = httpx.Code{Name: "invalid_grant", Status: http.StatusBadRequest}
	codeUnsupportedGrantType = httpx.Code{Name: "unsupported_grant_type", Status: http.StatusBadRequest}
	codeInvalidResource      = httpx.Code{Name: "invalid_resource", Status: http.StatusBadRequest}
	codeInvalidScope         = httpx.Code{Name: "invalid_scope", Status: http.StatusBadRequest}
	codeInvalidInstance      = httpx.Code{Name: "invalid_instance", Status: http.StatusBadRequest}
)

// aadsts makes an OAuth2 error whose description starts with the AADSTS code, as Entra ID's do.
func aadsts(code httpx.Code, n int, format string, args ...any) *httpx.Error {
	return &httpx.Error{
		Code:    code,
		Message: fmt.Sprintf("AADSTS%d: ", n) + fmt.Sprintf(format, args...),
		OAuth:   &httpx.OAuthDetail{ErrorCodes: []int{n}},
	}
}

func errMissing(param string) *httpx.Error {
	return aadsts(codeInvalidRequest, 900144, "The request body must contain the following parameter: '%s'.", param)
}

func errTenantNotFound(tenant string) *httpx.Error {
	return aadsts(codeInvalidRequest, 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
}

func errAppNotFound(appID, tenant string) *httpx.Error {
	return aadsts(codeUnauthorizedClient, 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", appID, tenant)
}

func errBadSecret(appID string) *httpx.Error {
	return aadsts(codeInvalidClient, 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)
}

func errNoServicePrincipal(appID, tenant string) *httpx.Error {
	return aadsts(codeInvalidClient, 7000229, "The client application %s is missing service principal in the tenant %s.", appID, tenant)
}

func errBadAssertion(format string, args ...any) *httpx.Error {
	return aadsts(codeInvalidClient, 700027, format, args...)
}
