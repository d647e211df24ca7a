// Renders the survey with SurveyJS (globals Survey from survey-core, SurveyUI from survey-js-ui) and posts the
// answers once the customer sends them. A score pre-selected by a link in an e-mail is only pre-filled here.
(function () {
    'use strict';
    var host = document.getElementById('survey');
    if (!host) {
        return;
    }
    var config = JSON.parse(host.getAttribute('data-config'));
    var survey = new Survey.Model(config.survey);
    if (!config.survey.completedHtml) {
        survey.completedHtml = '<h3>Thank you!</h3>';
    }
    if (config.prefill) {
        survey.mergeData(config.prefill);
    }

    function describe(problem) {
        if (problem && problem.errors) {
            var lines = [];
            Object.keys(problem.errors).forEach(function (field) {
                lines.push(problem.errors[field].join(' '));
            });
            return 'Your answers could not be sent: ' + lines.join(' ');
        }
        return (problem && problem.detail) || 'Your answers could not be sent. Please reload the page and try again.';
    }

    survey.onComplete.add(function (sender, options) {
        options.showSaveInProgress('Sending your answers…');
        document.body.setAttribute('data-survey-state', 'sending');
        fetch(config.answerUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
            credentials: 'omit',
            body: JSON.stringify({ answers: sender.data })
        }).then(function (response) {
            return response.json().catch(function () { return {}; }).then(function (body) {
                if (response.ok) {
                    options.showSaveSuccess('Your answers were sent. Thank you for your feedback!');
                    document.body.setAttribute('data-survey-state', 'sent');
                } else {
                    options.showSaveError(response.status === 410 ? (body.detail || 'This survey has already been answered.') : describe(body));
                    document.body.setAttribute('data-survey-state', response.status === 410 ? 'refused' : 'error');
                }
            });
        }).catch(function () {
            options.showSaveError('Your answers could not be sent. Please check your connection and reload the page.');
            document.body.setAttribute('data-survey-state', 'error');
        });
    });

    SurveyUI.renderSurvey(survey, host);
    document.body.setAttribute('data-survey-state', 'ready');
})();
