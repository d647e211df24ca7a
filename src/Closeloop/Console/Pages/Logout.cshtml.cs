using Closeloop.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages;

/// <summary>Signing out is a POST with an anti-forgery token, so a link on another site cannot sign anyone out.</summary>
public sealed class LogoutModel(Data.CloseloopDb db) : PageModel
{
    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        // Deleting the cookie in this browser is not enough: a copy of it (a shared machine, a stolen cookie) would
        // still be valid. A new stamp ends every session of the person, here and elsewhere.
        if (CallerScope.From(User).UserId is { } id && await db.Users.FirstOrDefaultAsync(u => u.Id == id, ct) is { } user)
        {
            user.EndSessions();
            await db.SaveChangesAsync(ct);
        }
        await HttpContext.SignOutAsync(PersonAuthentication.Scheme);
        return LocalRedirect("/login");
    }
}
