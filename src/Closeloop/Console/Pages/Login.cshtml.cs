using Closeloop.Data;
using Closeloop.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Closeloop.WebConsole.Pages;

public sealed class LoginModel(CloseloopDb db, TimeProvider time, SignInThrottle throttle) : PageModel
{
    [BindProperty(Name = "email")]
    public string? Email { get; set; }

    [BindProperty(Name = "password")]
    public string? Password { get; set; }

    [BindProperty(Name = "returnUrl", SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Error { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(Email) || string.IsNullOrEmpty(Password))
        {
            Error = "Enter your e-mail and your password.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        var address = FailureThrottle.AddressOf(HttpContext);
        if (throttle.Addresses.RetryAfter(address) is { } wait)
        {
            // Too many wrong passwords from this address, over any accounts: nothing is checked until the window ends.
            Error = $"Too many failed sign-ins from this address: try again in {Math.Ceiling(wait.TotalMinutes):0} minutes.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Page();
        }
        var (outcome, principal) = await PersonSignIn.CheckAsync(db, throttle, Email, Password, time.GetUtcNow(), ct);
        if (outcome != SignInOutcome.SignedIn)
        {
            throttle.Addresses.Failed(address);
        }
        switch (outcome)
        {
            case SignInOutcome.SignedIn:
                await HttpContext.SignInAsync(PersonAuthentication.Scheme, principal!);
                return LocalRedirect(ReturnUrl is { Length: > 0 } back && Url.IsLocalUrl(back) ? back : "/alerts");
            case SignInOutcome.LockedOut:
                Error = $"Too many wrong passwords: this account is locked for {People.User.LockoutDuration.TotalMinutes:0} minutes.";
                break;
            default:
                Error = "The e-mail or the password is wrong.";
                break;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Page();
    }
}
