package graphapi

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
)

func (a *API) me(w http.ResponseWriter, r *http.Request, c caller) error {
	if c.claims.IsApp() {
		return httpx.E(codeBadRequestPlain, "/me request is only valid with delegated authentication flow.")
	}
	u, err := a.dir.User(r.Context(), c.claims.Tid, c.claims.Oid)
	if err != nil {
		return dirError(err, c.claims.Oid)
	}
	writeEntity(w, r, http.StatusOK, "users", userView(u))
	return nil
}

func userProps(u directory.User, name string) ([]string, bool) {
	switch name {
	case "id":
		return []string{u.ID}, true
	case "displayname":
		return []string{u.DisplayName}, true
	case "userprincipalname":
		return []string{u.UserPrincipalName}, true
	case "mailnickname":
		return []string{u.MailNickname}, true
	case "mail":
		return []string{}, true
	}
	return nil, false
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, c caller) error {
	users, err := a.dir.Users(r.Context(), c.claims.Tid)
	if err != nil {
		return err
	}
	items, err := filtered(r, users, userProps, userView)
	if err != nil {
		return err
	}
	return writeList(w, r, "users", items)
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		AccountEnabled    *bool  `json:"accountEnabled"`
		DisplayName       string `json:"displayName"`
		MailNickname      string `json:"mailNickname"`
		UserPrincipalName string `json:"userPrincipalName"`
		PasswordProfile   struct {
			Password string `json:"password"`
		} `json:"passwordProfile"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	for name, v := range map[string]string{"displayName": in.DisplayName, "userPrincipalName": in.UserPrincipalName, "passwordProfile": in.PasswordProfile.Password} {
		if v == "" {
			return httpx.E(codeBadRequest, "Property '%s' is required.", name)
		}
	}
	u, err := a.dir.CreateUser(r.Context(), c.claims.Tid, directory.NewUser{
		UserPrincipalName: in.UserPrincipalName, DisplayName: in.DisplayName, MailNickname: in.MailNickname,
		Password: in.PasswordProfile.Password, Disabled: in.AccountEnabled != nil && !*in.AccountEnabled,
	})
	if err != nil {
		return dirError(err, in.UserPrincipalName)
	}
	writeEntity(w, r, http.StatusCreated, "users", userView(u))
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, c caller) error {
	u, err := a.dir.User(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	writeEntity(w, r, http.StatusOK, "users", userView(u))
	return nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, c caller) error {
	u, err := a.dir.User(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	if err := a.dir.DeleteUser(r.Context(), c.claims.Tid, u.ID); err != nil {
		return dirError(err, u.ID)
	}
	a.v.Forget(c.claims.Tid, u.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func groupProps(g directory.Group, name string) ([]string, bool) {
	switch name {
	case "id":
		return []string{g.ID}, true
	case "displayname":
		return []string{g.DisplayName}, true
	case "mailnickname":
		return []string{g.MailNickname}, true
	case "securityenabled":
		return []string{"true"}, true
	}
	return nil, false
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, c caller) error {
	groups, err := a.dir.Groups(r.Context(), c.claims.Tid)
	if err != nil {
		return err
	}
	items, err := filtered(r, groups, groupProps, groupView)
	if err != nil {
		return err
	}
	return writeList(w, r, "groups", items)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		DisplayName     string   `json:"displayName"`
		MailNickname    string   `json:"mailNickname"`
		Description     string   `json:"description"`
		MailEnabled     bool     `json:"mailEnabled"`
		SecurityEnabled *bool    `json:"securityEnabled"`
		GroupTypes      []string `json:"groupTypes"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.MailEnabled || len(in.GroupTypes) > 0 || (in.SecurityEnabled != nil && !*in.SecurityEnabled) {
		return httpx.E(codeBadRequest, "Only security groups (securityEnabled true, mailEnabled false, no groupTypes) are supported.")
	}
	g, err := a.dir.CreateGroup(r.Context(), c.claims.Tid, directory.NewGroup{DisplayName: in.DisplayName, MailNickname: in.MailNickname, Description: in.Description})
	if err != nil {
		return dirError(err, in.DisplayName)
	}
	writeEntity(w, r, http.StatusCreated, "groups", groupView(g))
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, c caller) error {
	g, err := a.dir.Group(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	writeEntity(w, r, http.StatusOK, "groups", groupView(g))
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.dir.DeleteGroup(r.Context(), c.claims.Tid, r.PathValue("id")); err != nil {
		return dirError(err, r.PathValue("id"))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, c caller) error {
	members, err := a.dir.Members(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	items := make([]map[string]any, 0, len(members))
	for _, m := range members {
		items = append(items, principalView(m))
	}
	return writeList(w, r, "directoryObjects", items)
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		ID string `json:"@odata.id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID == "" {
		return httpx.E(codeBadRequest, "Property '@odata.id' is required.")
	}
	if err := a.dir.AddMember(r.Context(), c.claims.Tid, r.PathValue("id"), odataID(in.ID)); err != nil {
		return dirError(err, odataID(in.ID))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.dir.RemoveMember(r.Context(), c.claims.Tid, r.PathValue("id"), r.PathValue("member")); err != nil {
		return dirError(err, r.PathValue("member"))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkMemberGroups answers which of the given groups the object is in, transitively.
func (a *API) checkMemberGroups(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		GroupIDs []string `json:"groupIds"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if _, err := a.dir.Principal(r.Context(), c.claims.Tid, r.PathValue("id")); err != nil {
		return dirError(err, r.PathValue("id"))
	}
	groups, err := a.dir.TransitiveGroups(r.Context(), c.claims.Tid, strings.ToLower(r.PathValue("id")))
	if err != nil {
		return err
	}
	in2 := map[string]bool{}
	for _, g := range groups {
		in2[g] = true
	}
	out := []string{}
	for _, g := range in.GroupIDs {
		if in2[strings.ToLower(g)] {
			out = append(out, g)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"@odata.context": graphBase(r) + "$metadata#Collection(Edm.String)", "value": out})
	return nil
}

func (a *API) getDirectoryObject(w http.ResponseWriter, r *http.Request, c caller) error {
	p, err := a.dir.Principal(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	v := principalView(p)
	v["@odata.context"] = graphBase(r) + "$metadata#directoryObjects/$entity"
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func appProps(app directory.Application, name string) ([]string, bool) {
	switch name {
	case "id":
		return []string{app.ID}, true
	case "appid":
		return []string{app.AppID}, true
	case "displayname":
		return []string{app.DisplayName}, true
	}
	return nil, false
}

func (a *API) listApplications(w http.ResponseWriter, r *http.Request, c caller) error {
	apps, err := a.dir.Applications(r.Context(), c.claims.Tid)
	if err != nil {
		return err
	}
	items, err := filtered(r, apps, appProps, applicationView)
	if err != nil {
		return err
	}
	return writeList(w, r, "applications", items)
}

func (a *API) createApplication(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		DisplayName string `json:"displayName"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	app, err := a.dir.CreateApplication(r.Context(), c.claims.Tid, in.DisplayName)
	if err != nil {
		return dirError(err, in.DisplayName)
	}
	writeEntity(w, r, http.StatusCreated, "applications", applicationView(app))
	return nil
}

func (a *API) getApplication(w http.ResponseWriter, r *http.Request, c caller) error {
	app, err := a.dir.Application(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	writeEntity(w, r, http.StatusOK, "applications", applicationView(app))
	return nil
}

// patchApplication supports adding certificates: keyCredentials entries that carry a key (base64 DER) are added.
func (a *API) patchApplication(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		KeyCredentials []struct {
			Key         string `json:"key"`
			DisplayName string `json:"displayName"`
			Type        string `json:"type"`
			Usage       string `json:"usage"`
		} `json:"keyCredentials"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	app, err := a.dir.Application(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	for _, k := range in.KeyCredentials {
		if k.Key == "" {
			continue
		}
		if k.Type != "" && k.Type != "AsymmetricX509Cert" || k.Usage != "" && k.Usage != "Verify" {
			return httpx.E(codeBadRequest, "Only keyCredentials of type AsymmetricX509Cert with usage Verify are supported.")
		}
		der, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			return httpx.E(codeBadRequest, "Invalid value specified for property 'key' of resource 'KeyCredential'.")
		}
		if _, err := a.dir.AddCertificate(r.Context(), c.claims.Tid, app.ID, k.DisplayName, der); err != nil {
			return dirError(err, app.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteApplication(w http.ResponseWriter, r *http.Request, c caller) error {
	app, err := a.dir.Application(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	sp, spErr := a.dir.ServicePrincipal(r.Context(), c.claims.Tid, app.AppID)
	if err := a.dir.DeleteApplication(r.Context(), c.claims.Tid, app.ID); err != nil {
		return dirError(err, app.ID)
	}
	if spErr == nil {
		a.v.Forget(c.claims.Tid, sp.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// addPassword makes a client secret; the response is the only place its value (secretText) ever appears.
func (a *API) addPassword(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		PasswordCredential struct {
			DisplayName string     `json:"displayName"`
			EndDateTime *time.Time `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	app, err := a.dir.Application(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	valid := 2 * 365 * 24 * time.Hour
	if in.PasswordCredential.EndDateTime != nil {
		valid = time.Until(*in.PasswordCredential.EndDateTime)
		if valid <= 0 {
			return httpx.E(codeBadRequest, "Invalid value specified for property 'endDateTime': it is in the past.")
		}
	}
	cred, secret, err := a.dir.AddPassword(r.Context(), c.claims.Tid, app.ID, in.PasswordCredential.DisplayName, valid)
	if err != nil {
		return dirError(err, app.ID)
	}
	v := passwordView(cred, secret)
	v["@odata.context"] = graphBase(r) + "$metadata#microsoft.graph.passwordCredential"
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func spProps(sp directory.ServicePrincipal, name string) ([]string, bool) {
	switch name {
	case "id":
		return []string{sp.ID}, true
	case "appid":
		return []string{sp.AppID}, true
	case "displayname":
		return []string{sp.DisplayName}, true
	case "serviceprincipalnames":
		return sp.ServicePrincipalNames, true
	case "serviceprincipaltype":
		return []string{sp.ServicePrincipalType}, true
	}
	return nil, false
}

func (a *API) listServicePrincipals(w http.ResponseWriter, r *http.Request, c caller) error {
	sps, err := a.dir.ServicePrincipals(r.Context(), c.claims.Tid)
	if err != nil {
		return err
	}
	items, err := filtered(r, sps, spProps, servicePrincipalView)
	if err != nil {
		return err
	}
	return writeList(w, r, "servicePrincipals", items)
}

func (a *API) createServicePrincipal(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		AppID string `json:"appId"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.AppID == "" {
		return httpx.E(codeBadRequest, "Property 'appId' is required.")
	}
	sp, err := a.dir.CreateServicePrincipal(r.Context(), c.claims.Tid, in.AppID)
	if err != nil {
		return dirError(err, in.AppID)
	}
	writeEntity(w, r, http.StatusCreated, "servicePrincipals", servicePrincipalView(sp))
	return nil
}

func (a *API) getServicePrincipal(w http.ResponseWriter, r *http.Request, c caller) error {
	sp, err := a.dir.ServicePrincipal(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	writeEntity(w, r, http.StatusOK, "servicePrincipals", servicePrincipalView(sp))
	return nil
}

func (a *API) deleteServicePrincipal(w http.ResponseWriter, r *http.Request, c caller) error {
	sp, err := a.dir.ServicePrincipal(r.Context(), c.claims.Tid, r.PathValue("id"))
	if err != nil {
		return dirError(err, r.PathValue("id"))
	}
	if sp.ServicePrincipalType == directory.SPTypeManagedIdentity {
		return httpx.E(codeBadRequest, "A managed identity is deleted with its Azure resource, not through the directory.")
	}
	if err := a.dir.DeleteServicePrincipal(r.Context(), c.claims.Tid, sp.ID); err != nil {
		return dirError(err, sp.ID)
	}
	a.v.Forget(c.claims.Tid, sp.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) organization(w http.ResponseWriter, r *http.Request, c caller) error {
	t, err := a.dir.Tenant(r.Context(), c.claims.Tid)
	if err != nil {
		return err
	}
	return writeList(w, r, "organization", []map[string]any{{
		"id": t.ID, "displayName": t.DisplayName, "tenantType": "AAD",
		"verifiedDomains": []map[string]any{{"name": t.Domain, "isDefault": true, "isInitial": true, "type": "Managed"}},
	}})
}

// getByIDs resolves object ids of any type (users, groups, service principals); unknown ids are left out.
func (a *API) getByIDs(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.IDs) > 1000 {
		return httpx.E(codeBadRequest, "At most 1000 ids may be requested.")
	}
	items := []map[string]any{}
	for _, id := range in.IDs {
		p, err := a.dir.Principal(r.Context(), c.claims.Tid, id)
		if err != nil {
			continue
		}
		if len(in.Types) > 0 && !containsFold(in.Types, p.Type) {
			continue
		}
		items = append(items, principalView(p))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"@odata.context": graphBase(r) + "$metadata#directoryObjects", "value": items})
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
