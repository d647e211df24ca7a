// Renders the definition in the textarea with SurveyJS, as a customer would see it (answers are not sent anywhere).
(function () {
    'use strict';
    var button = document.getElementById('preview-survey');
    var textarea = document.getElementById('survey-definition');
    var host = document.getElementById('survey-preview');
    var error = document.getElementById('preview-error');
    if (!button || !textarea || !host) {
        return;
    }
    function preview() {
        error.hidden = true;
        var json;
        try {
            json = JSON.parse(textarea.value);
        } catch (e) {
            error.textContent = 'The definition is not valid JSON: ' + e.message;
            error.hidden = false;
            return;
        }
        host.textContent = '';
        var survey = new Survey.Model(json);
        survey.onComplete.add(function (sender, options) {
            options.showSaveSuccess('Preview only: nothing was saved.');
        });
        SurveyUI.renderSurvey(survey, host);
    }
    button.addEventListener('click', preview);
    preview();
})();
