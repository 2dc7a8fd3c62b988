"""Provincial-level divisions (GB/T 2260), where a handler registers and files."""

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Province(models.TextChoices):
    BEIJING = "11", _("Beijing 北京市")
    TIANJIN = "12", _("Tianjin 天津市")
    HEBEI = "13", _("Hebei 河北省")
    SHANXI = "14", _("Shanxi 山西省")
    INNER_MONGOLIA = "15", _("Inner Mongolia 内蒙古自治区")
    LIAONING = "21", _("Liaoning 辽宁省")
    JILIN = "22", _("Jilin 吉林省")
    HEILONGJIANG = "23", _("Heilongjiang 黑龙江省")
    SHANGHAI = "31", _("Shanghai 上海市")
    JIANGSU = "32", _("Jiangsu 江苏省")
    ZHEJIANG = "33", _("Zhejiang 浙江省")
    ANHUI = "34", _("Anhui 安徽省")
    FUJIAN = "35", _("Fujian 福建省")
    JIANGXI = "36", _("Jiangxi 江西省")
    SHANDONG = "37", _("Shandong 山东省")
    HENAN = "41", _("Henan 河南省")
    HUBEI = "42", _("Hubei 湖北省")
    HUNAN = "43", _("Hunan 湖南省")
    GUANGDONG = "44", _("Guangdong 广东省")
    GUANGXI = "45", _("Guangxi 广西壮族自治区")
    HAINAN = "46", _("Hainan 海南省")
    CHONGQING = "50", _("Chongqing 重庆市")
    SICHUAN = "51", _("Sichuan 四川省")
    GUIZHOU = "52", _("Guizhou 贵州省")
    YUNNAN = "53", _("Yunnan 云南省")
    TIBET = "54", _("Tibet 西藏自治区")
    SHAANXI = "61", _("Shaanxi 陕西省")
    GANSU = "62", _("Gansu 甘肃省")
    QINGHAI = "63", _("Qinghai 青海省")
    NINGXIA = "64", _("Ningxia 宁夏回族自治区")
    XINJIANG = "65", _("Xinjiang 新疆维吾尔自治区")


def province_name_zh(code: str) -> str:
    """The Chinese name of a province, whatever the active language (北京市 for "11")."""

    with translation.override("en"):
        return str(Province(code).label).split(" ", 1)[-1]
