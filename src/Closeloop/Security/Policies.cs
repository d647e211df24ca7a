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
        options.AddPolicy(ReadCauses, p => p.Combine(authenticated).RequireRole(Roles.CauseReaders));
        options.AddPolicy(WorkCauses, p => p.Combine(authenticated).RequireRole(Roles.CauseWorkers));
        options.AddPolicy(Broadcast, p => p.Combine(authenticated).RequireRole(Roles.Broadcasters));
        options.AddPolicy(ReadFigures, p => p.Combine(authenticated).RequireRole(Roles.FigureReaders));
    }
}

public static class PersonAuthentication
{
    public const string Scheme = "Cookies";
}
