using Microsoft.AspNetCore.Authorization;

namespace Closeloop.Security;

public static class Policies
{
    public const string Write = "write";
    public const string ReadRecords = "read-records";
    public const string Admin = "admin";
    public const string WorkAlerts = "work-alerts";
    public const string ReadCauses = "read-causes";
    public const string WorkCauses = "work-causes";
    public const string Broadcast = "broadcast";
    public const string ReadFigures = "read-figures";
    public const string Train = "train";

    public static void Add(AuthorizationOptions options)
    {
        // Every endpoint needs a caller, by API key or by a person's cookie; a role check narrows it further.
        var authenticated = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName, PersonAuthentication.Scheme)
            .RequireAuthenticatedUser()
            .Build();
        options.DefaultPolicy = authenticated;
        options.FallbackPolicy = authenticated;
        options.AddPolicy(Write, p => p.Combine(authenticated).RequireRole(Roles.Writers));
        options.AddPolicy(ReadRecords, p => p.Combine(authenticated).RequireRole(Roles.RecordReaders));
        options.AddPolicy(Admin, p => p.Combine(authenticated).RequireRole(Roles.Admin));
        options.AddPolicy(WorkAlerts, p => p.Combine(authenticated).RequireRole(Roles.AlertWorkers));
        // Cause alerts and improvement actions count every site's customers, so a caller confined to one site (a
        // vendor's integration key, say) may not read them, whatever its role. CauseWork holds the rule, for the
        // console's pages too.
        options.AddPolicy(ReadCauses, p => p.Combine(authenticated).RequireAssertion(c => Insights.CauseWork.MayRead(c.User)));
        options.AddPolicy(WorkCauses, p => p.Combine(authenticated).RequireAssertion(c => Insights.CauseWork.MayWork(c.User)));
        // Labelled examples change how every site's comments are classified, like `closeloop insights train`: an
        // admin's or an unscoped integration's call. Supervisors still teach it one confirmed cause at a time.
        options.AddPolicy(Train, p => p.Combine(authenticated).RequireRole(Roles.Admin, Roles.Integration).RequireAssertion(c => !Roles.IsSiteScoped(c.User)));
        options.AddPolicy(Broadcast, p => p.Combine(authenticated).RequireRole(Roles.Broadcasters));
        options.AddPolicy(ReadFigures, p => p.Combine(authenticated).RequireRole(Roles.FigureReaders));
    }
}

public static class PersonAuthentication
{
    public const string Scheme = "Cookies";
}
