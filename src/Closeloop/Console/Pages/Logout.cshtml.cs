using Closeloop.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Closeloop.WebConsole.Pages;

/// <summary>Signing out is a POST with an anti-forgery token, so a link on another site cannot sign anyone out.</summary>
public sealed class LogoutModel : PageModel
{
    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(PersonAuthentication.Scheme);
        return LocalRedirect("/login");
    }
}
