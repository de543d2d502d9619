"""The words mail clients print in forwarded dates, per language: month names, weekday names,
time-zone abbreviations and a few connectors ("u", "v", "o") that tell languages apart.

Raw tables only (stdlib, no imports): ``forward_dates`` folds every word the way it folds the
date it reads and finds which words mean different months in different languages on its own
(Croatian "listopad" is October, Czech and Polish "listopad" November)."""
from __future__ import annotations

# Twelve "|"-separated groups per language, January first; within a group the spellings clients
# print: nominative, genitive (as in "26. října"), and the abbreviations of Gmail, Outlook, Apple Mail.
MONTHS = {
    "en": "january jan|february feb|march mar|april apr|may|june jun|july jul|august aug"
          "|september sep sept|october oct|november nov|december dec",
    "it": "gennaio gen|febbraio feb|marzo mar|aprile apr|maggio mag|giugno giu|luglio lug"
          "|agosto ago|settembre set|ottobre ott|novembre nov|dicembre dic",
    "de": "januar jänner jaenner jan|februar feber feb|märz maerz mrz mär mar|april apr|mai"
          "|juni jun|juli jul|august aug|september sep sept|oktober okt|november nov|dezember dez",
    "fr": "janvier janv jan|février fevrier févr fevr fév|mars|avril avr|mai|juin|juillet juil"
          "|août aout|septembre sept|octobre oct|novembre nov|décembre déc",
    "es": "enero ene|febrero feb|marzo mar|abril abr|mayo may|junio jun|julio jul|agosto ago"
          "|septiembre setiembre sep sept set|octubre oct|noviembre nov|diciembre dic",
    "pt": "janeiro jan|fevereiro fev|março mar|abril abr|maio mai|junho jun|julho jul|agosto ago"
          "|setembro set|outubro out|novembro nov|dezembro dez",
    "nl": "januari jan|februari feb|maart mrt mar|april apr|mei|juni jun|juli jul|augustus aug"
          "|september sep sept|oktober okt|november nov|december dec",
    "pl": "styczeń stycznia sty|luty lutego lut|marzec marca mar|kwiecień kwietnia kwi|maj maja"
          "|czerwiec czerwca cze|lipiec lipca lip|sierpień sierpnia sie|wrzesień września wrz"
          "|październik października paź|listopad listopada lis|grudzień grudnia gru",
    "cs": "leden ledna led|únor února úno|březen března bře|duben dubna dub|květen května kvě"
          "|červen června čvn|červenec července čvc|srpen srpna srp|září zář|říjen října říj"
          "|listopad listopadu lis|prosinec prosince pro",
    "sk": "január januára jan|február februára feb|marec marca mar|apríl apríla apr|máj mája"
          "|jún júna|júl júla|august augusta aug|september septembra sep|október októbra okt"
          "|november novembra nov|december decembra dec",
    "hr": "siječanj siječnja sij|veljača veljače velj|ožujak ožujka ožu|travanj travnja tra"
          "|svibanj svibnja svi|lipanj lipnja lip|srpanj srpnja srp|kolovoz kolovoza kol"
          "|rujan rujna ruj|listopad listopada lis|studeni studenoga studenog stu|prosinac prosinca pro",
    "sv": "januari jan|februari feb|mars mar|april apr|maj|juni jun|juli jul|augusti aug"
          "|september sep sept|oktober okt|november nov|december dec",
    "da": "januar jan|februar feb|marts mar|april apr|maj|juni jun|juli jul|august aug"
          "|september sep sept|oktober okt|november nov|december dec",
    "no": "januar jan|februar feb|mars mar|april apr|mai|juni jun|juli jul|august aug"
          "|september sep sept|oktober okt|november nov|desember des",
    "fi": "tammikuu tammikuuta tammik|helmikuu helmikuuta helmik|maaliskuu maaliskuuta maalisk"
          "|huhtikuu huhtikuuta huhtik|toukokuu toukokuuta toukok|kesäkuu kesäkuuta kesäk"
          "|heinäkuu heinäkuuta heinäk|elokuu elokuuta elok|syyskuu syyskuuta syysk"
          "|lokakuu lokakuuta lokak|marraskuu marraskuuta marrask|joulukuu joulukuuta jouluk",
    "et": "jaanuar jaan|veebruar veebr|märts|aprill apr|mai|juuni|juuli|august aug"
          "|september sept|oktoober okt|november nov|detsember dets",
    "hu": "január jan|február febr|március márc|április ápr|május máj|június jún|július júl"
          "|augusztus aug|szeptember szept|október okt|november nov|december dec",
    "ro": "ianuarie ian|februarie feb|martie mar|aprilie apr|mai|iunie iun|iulie iul|august aug"
          "|septembrie sept|octombrie oct|noiembrie noi nov|decembrie dec",
    "tr": "ocak oca|şubat şub|mart mar|nisan nis|mayıs mayis may|haziran haz|temmuz tem"
          "|ağustos ağu|eylül eyl|ekim eki|kasım kasim kas|aralık aralik ara",
    "ru": "январь января янв|февраль февраля фев|март марта мар|апрель апреля апр|май мая"
          "|июнь июня июн|июль июля июл|август августа авг|сентябрь сентября сен сент"
          "|октябрь октября окт|ноябрь ноября ноя нояб|декабрь декабря дек",
    "uk": "січень січня січ|лютий лютого лют|березень березня бер|квітень квітня квіт"
          "|травень травня трав|червень червня черв|липень липня лип|серпень серпня серп"
          "|вересень вересня вер|жовтень жовтня жовт|листопад листопада лист|грудень грудня груд",
    "el": "ιανουάριος ιανουαρίου ιαν|φεβρουάριος φεβρουαρίου φεβ|μάρτιος μαρτίου μαρ"
          "|απρίλιος απριλίου απρ|μάιος μαΐου μαΐ μαΐος|ιούνιος ιουνίου ιουν|ιούλιος ιουλίου ιουλ"
          "|αύγουστος αυγούστου αυγ|σεπτέμβριος σεπτεμβρίου σεπ|οκτώβριος οκτωβρίου οκτ"
          "|νοέμβριος νοεμβρίου νοε|δεκέμβριος δεκεμβρίου δεκ",
}

# Seven groups per language, Monday first.
WEEKDAYS = {
    "en": "monday mon|tuesday tue tues|wednesday wed|thursday thu thur thurs|friday fri"
          "|saturday sat|sunday sun",
    "it": "lunedì lun|martedì mar|mercoledì mer|giovedì gio|venerdì ven|sabato sab|domenica dom",
    "de": "montag mo|dienstag di|mittwoch mi|donnerstag do|freitag fr|samstag sonnabend sa|sonntag so",
    "fr": "lundi lun|mardi mar|mercredi mer|jeudi jeu|vendredi ven|samedi sam|dimanche dim",
    "es": "lunes lun|martes mar|miércoles mié|jueves jue|viernes vie|sábado sáb|domingo dom",
    "pt": "segunda seg|terça ter|quarta qua|quinta qui|sexta sex|sábado sáb|domingo dom",
    "nl": "maandag ma|dinsdag di|woensdag wo|donderdag do|vrijdag vr|zaterdag za|zondag zo",
    "pl": "poniedziałek pon pn|wtorek wt|środa śr|czwartek czw|piątek pt|sobota sob|niedziela niedz nd",
    "cs": "pondělí po|úterý út|středa st|čtvrtek čt|pátek pá|sobota so|neděle ne",
    "sk": "pondelok po|utorok ut|streda st|štvrtok št|piatok pi|sobota so|nedeľa ne",
    "hr": "ponedjeljak pon|utorak uto|srijeda sri|četvrtak čet|petak pet|subota sub|nedjelja ned",
    "sv": "måndag mån|tisdag tis|onsdag ons|torsdag tors tor|fredag fre|lördag lör|söndag sön",
    "da": "mandag man|tirsdag tir|onsdag ons|torsdag tor|fredag fre|lørdag lør|søndag søn",
    "no": "mandag man|tirsdag tir|onsdag ons|torsdag tor|fredag fre|lørdag lør|søndag søn",
    "fi": "maanantai maanantaina ma|tiistai tiistaina ti|keskiviikko keskiviikkona ke"
          "|torstai torstaina to|perjantai perjantaina pe|lauantai lauantaina la|sunnuntai sunnuntaina su",
    "et": "esmaspäev e|teisipäev t|kolmapäev k|neljapäev n|reede r|laupäev l|pühapäev p",
    "hu": "hétfő h|kedd k|szerda sze|csütörtök cs|péntek p|szombat szo|vasárnap v",
    "ro": "luni lun|marți marti mar|miercuri mie|joi|vineri vin|sâmbătă sâm|duminică dum",
    "tr": "pazartesi pzt|salı sali sal|çarşamba çar|perşembe per|cuma cum|cumartesi cmt|pazar paz",
    "ru": "понедельник пн|вторник вт|среда ср|четверг чт|пятница пт|суббота сб|воскресенье вс",
    "uk": "понеділок пн|вівторок вт|середа ср|четвер чт|пʼятниця п'ятниця пятниця пт|субота сб|неділя нд",
    "el": "δευτέρα δευ|τρίτη τρι|τετάρτη τετ|πέμπτη πεμ|παρασκευή παρ|σάββατο σαβ|κυριακή κυρ",
}

# The word a client writes before the time, where it names the language ("26. listopada 2021. u
# 14:25" is Croatian, "26 listopada 2021 o 14:25" Polish).
CONNECTORS = {"u": "hr", "v": "cs", "o": "pl sk", "ve": "cs", "kl": "da no sv", "klo": "fi",
              "kell": "et", "um": "de", "alle": "it", "om": "nl", "às": "pt", "la": "ro"}

# Zone abbreviations, read only when written in capitals ("CET", never the Croatian "čet").
ZONES = {
    "UTC": 0, "UT": 0, "GMT": 0, "WET": 0, "WEZ": 0, "BST": 60, "WEST": 60, "WESZ": 60, "IST": 330,
    "CET": 60, "MEZ": 60, "HEC": 60, "SEČ": 60, "CEST": 120, "MESZ": 120, "HAEC": 120, "SELČ": 120,
    "EET": 120, "OEZ": 120, "EEST": 180, "OESZ": 180, "MSK": 180, "TRT": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480,
    "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "JST": 540, "KST": 540, "HKT": 480, "SGT": 480, "AWST": 480, "ACST": 570, "ACDT": 630,
    "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}
